import { env } from 'cloudflare:test';
import { GraphQLObjectType, GraphQLSchema, GraphQLString } from 'graphql';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { AppError } from '../../src/errors';
import { type AppPorts, createApp } from '../../src/http/app';
import { redact, scrubEvent, withoutQuery } from '../../src/runtime/worker/observability';
import { token } from '../helpers/auth';

/**
 * What counts as a bug for the error tracker (AppPorts.reportError, Sentry in the Worker): a
 * resolver that throws something of its own, or a failure of the pipeline, with the request id;
 * never a caller's mistake. And what is left of an event before it leaves for Sentry.
 */
const schema = new GraphQLSchema({
  query: new GraphQLObjectType({
    name: 'Query',
    fields: {
      fine: { type: GraphQLString, resolve: () => 'ok' },
      boom: {
        type: GraphQLString,
        resolve: () => {
          throw new Error('boom: the bug');
        },
      },
      refused: {
        type: GraphQLString,
        resolve: () => {
          throw new AppError('FORBIDDEN', 'not yours');
        },
      },
    },
  }),
});
const app = createApp(schema, { logSink: () => {} });

function reporting(extra: AppPorts = {}) {
  const reported: { error: unknown; requestId: string }[] = [];
  const ports: AppPorts = {
    ...extra,
    reportError: (error, { requestId }) => reported.push({ error, requestId }),
  };
  return { reported, ports };
}

const ask = async (query: string, ports: AppPorts, auth = true) =>
  app.fetch(
    new Request('http://cf.test/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(auth
          ? { authorization: `Bearer ${await token({ sub: 'ada', tenant: 'obs', roles: ['viewer'] })}` }
          : {}),
      },
      body: JSON.stringify({ query }),
    }),
    env,
    ports,
  );

describe('reportError', () => {
  it('gets the error a resolver threw, with the request id; the caller gets INTERNAL', async () => {
    const { reported, ports } = reporting();
    const res = await ask('{ boom }', ports);
    const body = (await res.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0]?.extensions.code).toBe('INTERNAL');
    expect(body.errors[0]?.message).not.toContain('the bug');
    expect(reported).toHaveLength(1);
    expect(String(reported[0]?.error)).toContain('boom: the bug');
    expect(reported[0]?.requestId).toBe(res.headers.get('x-request-id'));
  });

  it('gets nothing for a caller mistake: a coded refusal, no credential, a bad query, a fine answer', async () => {
    const { reported, ports } = reporting();
    for (const [query, auth] of [
      ['{ refused }', true],
      ['{ fine }', false],
      ['{ nope }', true],
      ['{ fine }', true],
    ] as const) {
      await (await ask(query, ports, auth)).text();
    }
    expect(reported).toEqual([]);
  });

  it('gets a failure of the pipeline itself (the rate limiter down), answered 500 INTERNAL', async () => {
    const { reported, ports } = reporting({
      rateLimiter: async () => {
        throw new Error('limiter unreachable');
      },
    });
    const res = await ask('{ fine }', ports);
    expect(res.status).toBe(500);
    expect(reported).toHaveLength(1);
    expect(String(reported[0]?.error)).toContain('limiter unreachable');
  });
});

describe('what leaves for Sentry', () => {
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJl';
  const apiKey = `cf_${'A1b2C3d4E5'.repeat(4)}`;

  it('the request keeps its method and path only; user, breadcrumbs, headers, cookies and body go', () => {
    const event = scrubEvent({
      type: undefined,
      event_id: '1',
      request: {
        method: 'POST',
        url: 'https://cf.example/graphql?ticket=abc',
        headers: { authorization: `Bearer ${jwt}`, cookie: 'session=1' },
        cookies: { session: '1' },
        data: '{"query":"{ me { id } }"}',
        query_string: 'ticket=abc',
      },
      user: { id: 'ada', email: 'ada@example.com' },
      breadcrumbs: [{ message: 'GET https://hooks.example/x?token=1' }],
      exception: {
        values: [
          { type: 'Error', value: `bad token ${jwt} and key ${apiKey}; Authorization: Bearer abc.def` },
        ],
      },
      extra: { url: 'https://user:pass@host.example/path' },
    });
    expect(event.request).toEqual({ method: 'POST', url: 'https://cf.example/graphql' });
    expect(event.user).toBeUndefined();
    expect(event.breadcrumbs).toBeUndefined();
    const text = JSON.stringify(event);
    for (const leak of [jwt, apiKey, 'Bearer abc', 'user:pass', 'session=1', 'ticket=abc']) {
      expect(text).not.toContain(leak);
    }
    expect(event.exception?.values?.[0]?.value).toBe(
      'bad token [jwt] and key [api key]; Authorization: Bearer [redacted]',
    );
  });

  it('redact leaves ordinary text alone; withoutQuery drops the query and fragment', () => {
    expect(redact({ a: ['no such table: freeze_windows', 3, null] })).toEqual({
      a: ['no such table: freeze_windows', 3, null],
    });
    expect(withoutQuery('https://x.example/a/b?c=1#d')).toBe('https://x.example/a/b');
  });
});

describe('SENTRY_DSN and OTEL_EXPORTER_OTLP_*', () => {
  const base = { JWT_SECRET: 'x'.repeat(32) };

  it('are off by default', () => {
    expect(parseConfig(base).observability).toEqual({ sentryDsn: null, otlp: null });
  });

  it('read a DSN, and the collector with its headers at <endpoint>/v1/traces', () => {
    const o = parseConfig({
      ...base,
      SENTRY_DSN: 'https://abc123@o1.ingest.sentry.io/42',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example.com/',
      OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer%20abc, x-team=ops',
    }).observability;
    expect(o).toEqual({
      sentryDsn: 'https://abc123@o1.ingest.sentry.io/42',
      otlp: {
        tracesUrl: 'https://otel.example.com/v1/traces',
        headers: { authorization: 'Bearer abc', 'x-team': 'ops' },
        serviceName: 'changeflow',
        sampleRatio: 1,
      },
    });
  });

  it.each([
    ['SENTRY_DSN', 'https://o1.ingest.sentry.io/42'],
    ['SENTRY_DSN', 'https://key@o1.ingest.sentry.io/'],
    ['SENTRY_DSN', 'not a url'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'otel.example.com'],
    ['OTEL_EXPORTER_OTLP_HEADERS', 'no-equals-sign'],
    ['OTEL_EXPORTER_OTLP_HEADERS', 'bad name=1'],
    ['OTEL_EXPORTER_OTLP_HEADERS', 'x=%E0%A4%A'],
  ])('refuse a malformed %s (%s) with CONFIG_INVALID, never repeating a secret value', (name, value) => {
    const vars = {
      ...base,
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example.com',
      [name]: value,
    };
    expect(() => parseConfig(vars)).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', variable: name }),
    );
    if (name !== 'OTEL_EXPORTER_OTLP_ENDPOINT') {
      try {
        parseConfig(vars);
      } catch (e) {
        expect((e as Error).message).not.toContain(value);
      }
    }
  });
});

import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import committedDoc from '../../docs/errors.md?raw';
import { renderErrorsDoc } from '../../scripts/errorsDoc';
import { ERROR_STATUS, ERRORS, type ErrorCode } from '../../src/errors';
import { type AppBindings, type AppPorts, createApp } from '../../src/http/app';
import { jsonErrorResponse } from '../../src/http/responses';
import { ROUTES } from '../../src/http/routes';
import type { Decision } from '../../src/ratelimit/slidingWindow';
import { schema } from '../../src/schema';
import { TEST_AUDIENCE, token } from '../helpers/auth';

/**
 * The registry (src/errors.ts) is what is sent: one error per surface per code family, each
 * checked for the status and code the registry gives it, in the surface's shape.
 */
const app = createApp(schema);
const production: AppBindings = {
  ...env,
  ENVIRONMENT: 'production',
  CORS_ORIGINS: 'https://app.example',
  JWT_AUDIENCE: TEST_AUDIENCE,
};
const refused: Decision = { allowed: false, limit: 1, remaining: 0, resetSeconds: 60, retryAfterSeconds: 60 };
const limited: AppPorts = { rateLimiter: async () => refused };
const admin = () => token({ sub: 'errors', tenant: 'errors-registry', roles: ['admin'] });
const GQL = 'application/graphql-response+json';

type Surface = 'graphql' | 'jsonrpc' | 'json';
interface Case {
  label: string;
  surface: Surface;
  code: ErrorCode;
  request: () => Promise<Request> | Request;
  bindings?: AppBindings;
  ports?: AppPorts;
}

const req = (path: string, init: RequestInit = {}) => new Request(`http://cf.test${path}`, init);
const graphql = async (body: unknown, headers: Record<string, string> = {}, auth = true) =>
  req('/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: GQL,
      ...(auth ? { authorization: `Bearer ${await admin()}` } : {}),
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
const rpc = async (body: string, headers: Record<string, string> = {}, method = 'POST') =>
  req('/mcp', {
    method,
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${await admin()}`,
      ...headers,
    },
    ...(method === 'POST' ? { body } : {}),
  });
const PING = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
const big = 'x'.repeat(200 * 1024);

const cases: Case[] = [
  // GraphQL: through Yoga (AppError extensions) and before it (responses.ts)
  {
    label: 'no credential',
    surface: 'graphql',
    code: 'UNAUTHENTICATED',
    request: () => graphql({ query: '{ me { id } }' }, {}, false),
  },
  {
    label: 'a syntax error',
    surface: 'graphql',
    code: 'GRAPHQL_PARSE_FAILED',
    request: () => graphql({ query: '{ me {' }),
  },
  {
    label: 'an unknown field',
    surface: 'graphql',
    code: 'GRAPHQL_VALIDATION_FAILED',
    request: () => graphql({ query: '{ nope }' }),
  },
  {
    label: 'an unknown operation name',
    surface: 'graphql',
    code: 'OPERATION_RESOLUTION_FAILURE',
    request: () => graphql({ query: '{ me { id } }', operationName: 'Other' }),
  },
  {
    label: 'a variable that does not coerce',
    surface: 'graphql',
    code: 'VALIDATION_FAILED',
    request: () =>
      graphql({ query: 'query($n: Int) { changes(first: $n) { totalCount } }', variables: { n: 'x' } }),
  },
  {
    label: 'a query over the alias limit',
    surface: 'graphql',
    code: 'QUERY_LIMIT_EXCEEDED',
    request: () =>
      graphql({ query: `{ ${Array.from({ length: 16 }, (_, i) => `a${i}: me { id }`).join(' ')} }` }),
  },
  {
    label: 'introspection in production',
    surface: 'graphql',
    code: 'INTROSPECTION_DISABLED',
    bindings: production,
    request: () => graphql({ query: '{ __schema { queryType { name } } }' }),
  },
  {
    label: 'a domain error',
    surface: 'graphql',
    code: 'API_KEY_NOT_FOUND',
    request: () => graphql({ query: 'mutation { revokeApiKey(id: "nope") { id } }' }),
  },
  {
    label: 'a body that is not JSON',
    surface: 'graphql',
    code: 'BAD_REQUEST',
    request: () => graphql('{"query": '),
  },
  {
    label: 'a GET without a preflight header',
    surface: 'graphql',
    code: 'CSRF_HEADER_REQUIRED',
    request: () => req('/graphql?query=%7B__typename%7D', { headers: { accept: GQL } }),
  },
  {
    label: 'a PUT',
    surface: 'graphql',
    code: 'METHOD_NOT_ALLOWED',
    request: async () => new Request(await graphql({ query: '{ me { id } }' }), { method: 'PUT' }),
  },
  {
    label: 'a text/plain body',
    surface: 'graphql',
    code: 'UNSUPPORTED_MEDIA_TYPE',
    request: () => graphql('{"query":"{ me { id } }"}', { 'content-type': 'text/plain' }),
  },
  {
    label: 'Accept: image/png',
    surface: 'graphql',
    code: 'NOT_ACCEPTABLE',
    request: () => graphql({ query: '{ me { id } }' }, { accept: 'image/png' }),
  },
  {
    label: 'a body over the cap',
    surface: 'graphql',
    code: 'PAYLOAD_TOO_LARGE',
    request: () => graphql(big),
  },
  {
    label: 'a WebSocket where the runtime has no subscriptions',
    surface: 'graphql',
    code: 'NOT_IMPLEMENTED',
    request: async () =>
      req('/graphql', {
        headers: {
          upgrade: 'websocket',
          'sec-websocket-protocol': 'graphql-transport-ws',
          authorization: `Bearer ${await admin()}`,
        },
      }),
  },
  {
    label: 'a bad Idempotency-Key',
    surface: 'graphql',
    code: 'BAD_REQUEST',
    request: () => graphql({ query: '{ me { id } }' }, { 'idempotency-key': '' }),
  },
  {
    label: 'over the rate limit',
    surface: 'graphql',
    code: 'RATE_LIMITED',
    ports: limited,
    request: () => graphql({ query: '{ me { id } }' }),
  },
  // JSON-RPC (/mcp): the registry's code in error.data.code
  {
    label: 'a foreign Origin',
    surface: 'jsonrpc',
    code: 'ORIGIN_NOT_ALLOWED',
    request: () => rpc(PING, { origin: 'https://evil.example' }),
  },
  { label: 'a GET', surface: 'jsonrpc', code: 'METHOD_NOT_ALLOWED', request: () => rpc('', {}, 'GET') },
  {
    label: 'no credential',
    surface: 'jsonrpc',
    code: 'UNAUTHENTICATED',
    request: () => rpc(PING, { authorization: '' }),
  },
  {
    label: 'a body that is not JSON',
    surface: 'jsonrpc',
    code: 'BAD_REQUEST',
    request: () => rpc('{"jsonrpc": '),
  },
  { label: 'a body over the cap', surface: 'jsonrpc', code: 'PAYLOAD_TOO_LARGE', request: () => rpc(big) },
  {
    label: 'over the rate limit',
    surface: 'jsonrpc',
    code: 'RATE_LIMITED',
    ports: limited,
    request: () => rpc(PING),
  },
  // Plain JSON: every other route
  { label: 'an unknown route', surface: 'json', code: 'NOT_FOUND', request: () => req('/nope') },
  {
    label: 'a GET to a webhook',
    surface: 'json',
    code: 'METHOD_NOT_ALLOWED',
    request: () => req('/hooks/workflows/wf'),
  },
  {
    label: 'a webhook path that is not percent-encoding',
    surface: 'json',
    code: 'BAD_REQUEST',
    request: () => req('/hooks/workflows/%zz', { method: 'POST' }),
  },
  {
    label: 'a webhook for no workflow',
    surface: 'json',
    code: 'WORKFLOW-008',
    request: () => req('/hooks/workflows/none', { method: 'POST', body: '{}' }),
  },
  {
    label: 'a webhook body over the cap',
    surface: 'json',
    code: 'PAYLOAD_TOO_LARGE',
    request: () => req('/hooks/workflows/none', { method: 'POST', body: big }),
  },
  {
    label: 'a ticket without a credential',
    surface: 'json',
    code: 'UNAUTHENTICATED',
    request: () => req('/graphql/ws-ticket', { method: 'POST' }),
  },
  {
    label: '/metrics where nothing is recorded',
    surface: 'json',
    code: 'NOT_IMPLEMENTED',
    request: () => req('/metrics'),
  },
  {
    label: '/schema.graphql in production',
    surface: 'json',
    code: 'INTROSPECTION_DISABLED',
    bindings: production,
    request: () => req('/schema.graphql'),
  },
  {
    label: 'a preflight from a foreign origin',
    surface: 'json',
    code: 'CORS_ORIGIN_NOT_ALLOWED',
    bindings: production,
    request: () =>
      req('/graphql', {
        method: 'OPTIONS',
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
      }),
  },
  {
    label: 'a foreign host on a loopback-only server',
    surface: 'json',
    code: 'HOST_NOT_ALLOWED',
    ports: { loopbackOnly: true },
    request: () => new Request('http://evil.example/health'),
  },
  {
    label: 'an invalid configuration',
    surface: 'json',
    code: 'CONFIG_INVALID',
    bindings: { ...env, ENVIRONMENT: 'nonsense' },
    request: () => req('/health'),
  },
  {
    label: 'over the rate limit',
    surface: 'json',
    code: 'RATE_LIMITED',
    ports: limited,
    request: () => req('/schema.graphql'),
  },
];

/** The registry's code as the surface carries it. */
function codeIn(surface: Surface, body: Record<string, unknown>): unknown {
  if (surface === 'graphql')
    return (body.errors as { extensions?: { code?: unknown } }[] | undefined)?.[0]?.extensions?.code;
  if (surface === 'jsonrpc') {
    expect(body.jsonrpc).toBe('2.0');
    const error = body.error as { code: unknown; data?: { code?: unknown } };
    expect(error.code).toBeTypeOf('number');
    return error.data?.code;
  }
  return (body.error as { code?: unknown } | undefined)?.code;
}

describe('every error answer agrees with the registry', () => {
  it.each(cases)('$surface: $label → $code', async ({ surface, code, request, bindings, ports }) => {
    const res = await app.fetch(await request(), bindings ?? env, ports ?? {});
    const body = (await res.json()) as Record<string, unknown>;
    expect(codeIn(surface, body), JSON.stringify(body)).toBe(code);
    expect(res.status).toBe(ERRORS[code].status);
    expect(res.headers.get('content-type')).toMatch(/^application\/(graphql-response\+)?json/);
    for (const e of (body.errors as { message: string }[] | undefined) ?? [
      body.error as { message: string },
    ]) {
      expect(e.message).toMatch(/\S/);
    }
  });

  it('covers every surface a route can have, and each route answers a method it does not serve with 405 in its shape', async () => {
    for (const route of ROUTES) {
      if (typeof route.path !== 'string' || route.surface === 'graphql') continue;
      const method = route.methods.includes('POST') ? 'GET' : 'POST';
      const res = await app.fetch(req(route.path, { method }), env);
      expect(res.status, route.path).toBe(405);
      expect(res.headers.get('allow')).toBe(route.methods.join(', '));
      const body = (await res.json()) as Record<string, unknown>;
      expect(codeIn(route.surface === 'jsonrpc' ? 'jsonrpc' : 'json', body)).toBe('METHOD_NOT_ALLOWED');
    }
  });

  it('takes only registered codes (a type error otherwise, checked by tsc)', () => {
    // @ts-expect-error NOT_A_CODE is not in the registry
    expect(() => jsonErrorResponse('NOT_A_CODE', 'x')).toThrow();
    expect(jsonErrorResponse('NOT_FOUND', 'x').status).toBe(404);
  });

  it('derives ERROR_STATUS from ERRORS and describes every code', () => {
    for (const [code, { status, description }] of Object.entries(ERRORS)) {
      expect(ERROR_STATUS[code as ErrorCode]).toBe(status);
      expect(description.length, code).toBeGreaterThan(10);
    }
  });
});

describe('docs/errors.md', () => {
  it('is what the registry generates (run `npm run codegen` and commit it)', () => {
    expect(committedDoc).toBe(renderErrorsDoc());
  });
});

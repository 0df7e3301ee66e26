import { env } from 'cloudflare:test';
import { getIntrospectionQuery } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config';
import { type AppBindings, createApp } from '../../src/http/app';
import { schema } from '../../src/schema';
import { TEST_AUDIENCE, token } from '../helpers/auth';
import { gql } from '../helpers/graphql';

/**
 * Introspection and field suggestions: on in development, off in staging and production unless
 * GRAPHQL_INTROSPECTION=true, refused with INTROSPECTION_DISABLED and no "Did you mean" anywhere.
 */
const TENANT = 'introspection';
let admin: string;

beforeAll(async () => {
  admin = await token({ sub: 'intro', tenant: TENANT, roles: ['admin'] });
});

type Errors = { message: string; extensions?: { code?: string; [k: string]: unknown } }[];

const app = createApp(schema);
const production: AppBindings = {
  ...env,
  ENVIRONMENT: 'production',
  CORS_ORIGINS: 'https://app.example',
  JWT_SECRET: env.JWT_SECRET,
  JWT_AUDIENCE: TEST_AUDIENCE,
};

async function post(bindings: AppBindings, query: string, variables: Record<string, unknown> = {}) {
  const res = await app.fetch(
    new Request('http://cf.test/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
        authorization: `Bearer ${admin}`,
      },
      body: JSON.stringify({ query, variables }),
    }),
    bindings,
  );
  const body = (await res.json()) as { data?: Record<string, unknown> | null; errors?: Errors };
  return { status: res.status, ...body };
}

const SCHEMA_QUERY = '{ __schema { queryType { name } } }';
const TYPE_QUERY = '{ __type(name: "ChangeRequest") { name fields { name } } }';

describe('GRAPHQL_INTROSPECTION', () => {
  it('defaults to on in development and off in staging and production', () => {
    const secret = env.JWT_SECRET;
    expect(parseConfig({ JWT_SECRET: secret }).introspection).toBe(true);
    const aud = { JWT_AUDIENCE: TEST_AUDIENCE };
    expect(parseConfig({ JWT_SECRET: secret, ENVIRONMENT: 'staging', ...aud }).introspection).toBe(false);
    expect(parseConfig({ JWT_SECRET: secret, ENVIRONMENT: 'production', ...aud }).introspection).toBe(false);
    expect(
      parseConfig({ JWT_SECRET: secret, ENVIRONMENT: 'production', GRAPHQL_INTROSPECTION: 'true', ...aud })
        .introspection,
    ).toBe(true);
    expect(parseConfig({ JWT_SECRET: secret, GRAPHQL_INTROSPECTION: 'FALSE' }).introspection).toBe(false);
  });

  it.each(['yes', '1', 'on'])('refuses %j naming the variable', (value) => {
    let error: unknown;
    try {
      parseConfig({ JWT_SECRET: env.JWT_SECRET, GRAPHQL_INTROSPECTION: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe('GRAPHQL_INTROSPECTION');
    expect((error as ConfigError).message).toContain(`must be "true" or "false" (got "${value}")`);
  });
});

describe('in development (the test worker)', () => {
  it.each([
    ['__schema', SCHEMA_QUERY],
    ['__type', TYPE_QUERY],
  ])('answers %s', async (_field, query) => {
    const r = await gql(query, {}, { token: admin });
    expect(r.errors).toBeUndefined();
    expect(r.status).toBe(200);
  });

  it("answers GraphiQL's full introspection query", async () => {
    const r = await gql<{ __schema: { types: unknown[] } }>(getIntrospectionQuery(), {}, { token: admin });
    expect(r.errors).toBeUndefined();
    expect(r.data?.__schema.types.length).toBeGreaterThan(20);
  });

  it('suggests field names', async () => {
    const r = await gql('{ me { idd } }', {}, { token: admin });
    expect(r.errors?.[0]?.message).toContain('Did you mean "id"');
  });
});

describe('in production', () => {
  it.each([
    ['__schema', SCHEMA_QUERY],
    ['__type', TYPE_QUERY],
    ['__schema under an alias', '{ s: __schema { queryType { name } } }'],
    ["GraphiQL's introspection query", getIntrospectionQuery()],
  ])('refuses %s with INTROSPECTION_DISABLED and 403', async (_label, query) => {
    const r = await post(production, query);
    expect(r.status).toBe(403);
    expect(r.data ?? null).toBeNull();
    const error = r.errors?.[0];
    expect(error?.extensions?.code).toBe('INTROSPECTION_DISABLED');
    expect(error?.message).toMatch(
      /^GraphQL introspection is disabled on this server \("__(schema|type)" was requested\)/,
    );
    expect(error?.message).toContain('GRAPHQL_INTROSPECTION=true');
  });

  it('refuses it with 200 and the error to a client that only accepts application/json (GraphQL over HTTP, legacy)', async () => {
    const res = await app.fetch(
      new Request('http://cf.test/graphql', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          authorization: `Bearer ${admin}`,
        },
        body: JSON.stringify({ query: SCHEMA_QUERY }),
      }),
      production,
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { errors: Errors; data?: unknown };
    expect(body.data).toBeUndefined();
    expect(body.errors[0]?.extensions?.code).toBe('INTROSPECTION_DISABLED');
  });

  it('still answers __typename and ordinary queries', async () => {
    const r = await post(production, '{ __typename me { __typename id } }');
    expect(r.errors).toBeUndefined();
    expect(r.data).toEqual({ __typename: 'Query', me: { __typename: 'Principal', id: 'intro' } });
  });

  it('answers introspection when GRAPHQL_INTROSPECTION=true', async () => {
    const r = await post({ ...production, GRAPHQL_INTROSPECTION: 'true' }, SCHEMA_QUERY);
    expect(r.errors).toBeUndefined();
    expect(r.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
  });

  it('refuses introspection in development when GRAPHQL_INTROSPECTION=false', async () => {
    const r = await post({ ...env, GRAPHQL_INTROSPECTION: 'false' }, SCHEMA_QUERY);
    expect(r.errors?.[0]?.extensions?.code).toBe('INTROSPECTION_DISABLED');
  });

  describe('error messages name no field, argument, type or value that was not asked for', () => {
    it.each([
      ['a misspelt field', '{ me { idd } }', {}, 'Cannot query field "idd" on type "Principal".'],
      [
        'a misspelt argument',
        '{ changes(frist: 1) { totalCount } }',
        {},
        'Unknown argument "frist" on field "Query.changes".',
      ],
      [
        'a misspelt enum value in the document',
        '{ changes(filter: { status: [DRAFTT] }) { totalCount } }',
        {},
        'Value "DRAFTT" does not exist in "ChangeStatus" enum.',
      ],
      [
        'a misspelt input field in the variables',
        'mutation($input: CreateChangeRequestInput!) { createChangeRequest(input: $input) { id } }',
        { input: { titl: 'x', description: 'd', impact: 'LOW', urgency: 'LOW', affectedServices: ['a'] } },
        'Field "titl" is not defined by type "CreateChangeRequestInput".',
      ],
    ])('%s', async (_label, query, variables, expected) => {
      const dev = await post(env, query, variables);
      expect(dev.errors?.map((e) => e.message).join('\n')).toContain('Did you mean');
      const r = await post(production, query, variables);
      const messages = (r.errors ?? []).map((e) => e.message);
      expect(messages.join('\n')).toContain(expected);
      for (const message of messages) {
        expect(message).not.toMatch(/did you mean/i);
        expect(message).not.toContain('[Suggestion hidden]');
      }
    });
  });
});

describe('GET /schema.graphql follows the same switch', () => {
  const sdl = (bindings: AppBindings) => app.fetch(new Request('http://cf.test/schema.graphql'), bindings);

  it('is refused in production by default, with the code', async () => {
    const res = await sdl(production);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('INTROSPECTION_DISABLED');
  });

  it('is published in production when GRAPHQL_INTROSPECTION=true, and in development', async () => {
    expect((await sdl({ ...production, GRAPHQL_INTROSPECTION: 'true' })).status).toBe(200);
    const dev = await sdl(env);
    expect(dev.status).toBe(200);
    expect(await dev.text()).toContain('type ChangeRequest');
  });
});

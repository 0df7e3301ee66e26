import { env } from 'cloudflare:test';
import {
  type GraphQLInputType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { ERRORS } from '../../src/errors';
import { type AppBindings, createApp } from '../../src/http/app';
import { routeTableOf } from '../../src/http/rest/handler';
import type { RestRoute } from '../../src/http/rest/routeTable';
import type { Decision } from '../../src/ratelimit/slidingWindow';
import { schema } from '../../src/schema';
import { token } from '../helpers/auth';

/**
 * Walks the generated route table: every route of /api/v1 refuses a request without a credential,
 * a method it does not serve, a caller over the rate limit and (for a write) a role that may not
 * write, each as problem+json with the registry's code and status; none answers 500.
 */
const app = createApp(schema);
const bindings = env as unknown as AppBindings;
const table = routeTableOf(schema);
const refused: Decision = { allowed: false, limit: 1, remaining: 0, resetSeconds: 60, retryAfterSeconds: 60 };
const VERBS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** A value of the argument's type that coerces: enough to reach the resolver and its checks. */
function sample(type: GraphQLInputType): unknown {
  if (isNonNullType(type)) return sample(type.ofType);
  if (isListType(type)) return [];
  if (isEnumType(type)) return type.getValues()[0]?.value;
  if (isInputObjectType(type)) {
    return Object.fromEntries(
      Object.values(type.getFields())
        .filter((f) => isNonNullType(f.type) && f.defaultValue === undefined)
        .map((f) => [f.name, sample(f.type)]),
    );
  }
  if (isScalarType(type)) {
    if (type.name === 'Int' || type.name === 'Float') return 1;
    if (type.name === 'Boolean') return false;
    if (type.name === 'DateTime') return '2030-01-01T00:00:00.000Z';
    if (type.name === 'JSON') return {};
    return 'x';
  }
  return getNullableType(type);
}

/** A request for the route: path parameters filled in, required arguments in the body or query. */
function requestFor(
  route: RestRoute,
  headers: Record<string, string>,
  method: string = route.method,
): Request {
  const field = (route.kind === 'query' ? schema.getQueryType() : schema.getMutationType())?.getFields()[
    route.name
  ];
  const path = route.path.replace(/:([A-Za-z]+)/g, 'missing-1');
  const args = Object.fromEntries(
    (field?.args ?? [])
      .filter((a) => isNonNullType(a.type) && !route.path.includes(`:${a.name}`))
      .map((a) => [a.name, sample(a.type)]),
  );
  const withBody = ['POST', 'PUT', 'PATCH'].includes(method);
  const query = withBody
    ? ''
    : `?${new URLSearchParams(Object.entries(args).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]))}`;
  return new Request(`http://cf.test/api/v1${path}${query}`, {
    method,
    headers: { ...(withBody ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(withBody ? { body: JSON.stringify(args) } : {}),
  });
}

async function problemOf(response: Response) {
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const body = (await response.json()) as {
    type: string;
    title: string;
    status: number;
    detail: string;
    code: keyof typeof ERRORS;
  };
  expect(body.status).toBe(response.status);
  expect(body.type).toBe(`urn:changeflow:error:${body.code}`);
  expect(ERRORS[body.code].status).toBe(response.status);
  expect(body.title.length).toBeGreaterThan(0);
  expect(body.detail.length).toBeGreaterThan(0);
  return body;
}

describe('the /api/v1 route table', () => {
  it('has a route for every root query and mutation field, and the resource routes the integrators use', () => {
    const fields = [
      ...Object.keys(schema.getQueryType()?.getFields() ?? {}).map((f) => `Query.${f}`),
      ...Object.keys(schema.getMutationType()?.getFields() ?? {}).map((f) => `Mutation.${f}`),
    ];
    expect(table.map((r) => r.field).sort()).toEqual(fields.sort());
    const served = new Set(table.map((r) => `${r.method} ${r.path}`));
    for (const route of [
      'POST /changes',
      'GET /changes',
      'GET /changes/:id',
      'POST /changes/:id/submit',
      'POST /changes/:id/approve',
      'POST /changes/:id/reject',
      'POST /changes/:id/schedule',
      'POST /changes/:id/start-implementation',
      'POST /changes/:id/complete',
      'POST /changes/:id/fail',
      'POST /changes/:id/roll-back',
      'POST /changes/:id/cancel',
      'GET /freeze-windows',
      'POST /freeze-windows',
      'GET /services',
      'GET /standard-change-templates',
      'POST /standard-change-templates/:templateId/changes',
      'GET /workflows',
      'POST /workflows',
      'GET /executions',
      'GET /executions/:id',
    ]) {
      expect(served, route).toContain(route);
    }
    // One route per method and path.
    expect(served.size).toBe(table.length);
  });

  it.each(table.map((r) => [`${r.method} ${r.path}`, r] as const))(
    '%s: 401 without a credential',
    async (_, route) => {
      const response = await app.fetch(requestFor(route, {}), bindings);
      expect(response.status).toBe(401);
      expect((await problemOf(response)).code).toBe('UNAUTHENTICATED');
    },
  );

  it.each(table.map((r) => [`${r.method} ${r.path}`, r] as const))(
    '%s: 401 with a forged token',
    async (_, route) => {
      const forged = await token({ secret: 'not-the-secret-of-this-deployment-0123456789' });
      const response = await app.fetch(requestFor(route, { authorization: `Bearer ${forged}` }), bindings);
      expect((await problemOf(response)).code).toBe('UNAUTHENTICATED');
    },
  );

  it.each(table.map((r) => [`${r.method} ${r.path}`, r] as const))(
    '%s: 429 over the rate limit',
    async (_, route) => {
      const response = await app.fetch(requestFor(route, {}), bindings, { rateLimiter: async () => refused });
      expect(response.status).toBe(429);
      expect((await problemOf(response)).code).toBe('RATE_LIMITED');
      expect(response.headers.get('retry-after')).toBe('60');
    },
  );

  it.each(table.map((r) => [`${r.method} ${r.path}`, r] as const))(
    '%s: 405 with Allow for another method',
    async (_, route) => {
      const methods = table.filter((r) => r.path === route.path).map((r) => r.method);
      const other = VERBS.find((v) => !methods.includes(v)) as string;
      const response = await app.fetch(
        requestFor(route, { authorization: `Bearer ${await token()}` }, other),
        bindings,
      );
      expect((await problemOf(response)).code).toBe('METHOD_NOT_ALLOWED');
      expect(response.headers.get('allow')?.split(', ').sort()).toEqual([...methods].sort());
    },
  );

  const mutations = table.filter((r) => r.kind === 'mutation');
  it.each(mutations.map((r) => [`${r.method} ${r.path}`, r] as const))(
    '%s: a viewer may not write (403)',
    async (_, route) => {
      const viewer = await token({ sub: 'vic', tenant: 'rest-walk', roles: ['viewer'] });
      const response = await app.fetch(requestFor(route, { authorization: `Bearer ${viewer}` }), bindings);
      expect((await problemOf(response)).code).toBe('FORBIDDEN');
    },
  );

  const queries = table.filter((r) => r.kind === 'query');
  it.each(queries.map((r) => [`${r.method} ${r.path}`, r] as const))(
    '%s: an admin gets an answer or a registered error, never INTERNAL',
    async (_, route) => {
      const admin = await token({ sub: 'root', tenant: 'rest-walk', roles: ['admin'] });
      const response = await app.fetch(requestFor(route, { authorization: `Bearer ${admin}` }), bindings);
      if (response.status === 200) {
        expect(response.headers.get('content-type')).toMatch(/^application\/json/);
        await response.json();
      } else {
        // 503 for what this runtime lacks (no workflow engine here) is a registered answer, not a bug.
        expect((await problemOf(response)).code).not.toBe('INTERNAL');
      }
    },
  );

  it('answers HEAD 405 problem+json (not served: SOFA routes GET only)', async () => {
    const response = await app.fetch(
      new Request('http://cf.test/api/v1/changes', {
        method: 'HEAD',
        headers: { authorization: `Bearer ${await token()}` },
      }),
      bindings,
    );
    expect(response.status).toBe(405);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('answers 404 problem+json for a path outside the table, SOFA subscription webhooks included', async () => {
    const admin = await token();
    for (const path of [
      '/api/v1/nope',
      '/api/v1/webhook',
      '/api/v1/webhook/abc',
      '/api/v1',
      '/api/v1/changes/a/b/c',
    ]) {
      const response = await app.fetch(
        new Request(`http://cf.test${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
          body: '{}',
        }),
        bindings,
      );
      expect(response.status, path).toBe(404);
      expect((await problemOf(response)).code).toBe('NOT_FOUND');
    }
  });
});

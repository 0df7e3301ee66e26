import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import type { Role } from '../../src/domain/types';
import { token } from '../helpers/auth';
import {
  approvedChange,
  CREATE,
  cast,
  changeInput,
  createChange,
  GET,
  gql,
  inDays,
  OVERRIDE,
  SCHEDULE,
} from '../helpers/changes';

const ME = '{ me { id tenantId roles } }';
const REPORT = `query($from: DateTime!, $to: DateTime!) {
  complianceReport(from: $from, to: $to) { score changesReviewed } }`;
const VERIFY = '{ verifyAuditChain { valid checked } }';

const b64url = (value: unknown) =>
  btoa(JSON.stringify(value)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');

const nowS = () => Math.floor(Date.now() / 1000);

/** Signs arbitrary claims with the test secret (the helper always sets tenant and roles). */
const signed = (claims: Record<string, unknown>) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(env.JWT_SECRET));

/** POSTs `{ me }` with a raw Authorization header (or none). */
async function meWith(authorization: string | null) {
  const res = await exports.default.fetch('http://cf.test/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(authorization === null ? {} : { authorization }),
    },
    body: JSON.stringify({ query: ME }),
  });
  const body = (await res.json()) as {
    data?: unknown;
    errors?: { message: string; extensions?: { code?: string } }[];
  };
  return { status: res.status, headers: res.headers, ...body };
}

describe('authentication', () => {
  it('refuses an anonymous operation with 401 UNAUTHENTICATED and says how to authenticate', async () => {
    const r = await meWith(null);
    expect(r.status).toBe(401);
    expect(r.data ?? null).toBeNull();
    expect(r.errors).toHaveLength(1);
    expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(r.errors?.[0]?.message).toMatch(/Authorization: Bearer/);
  });

  it('refuses an anonymous mutation before it runs: nothing is written', async () => {
    const title = `anonymous ${crypto.randomUUID()}`;
    const res = await exports.default.fetch('http://cf.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: CREATE, variables: { input: changeInput({ title }) } }),
    });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0]?.extensions.code).toBe('UNAUTHENTICATED');
    const row = await env.DB.prepare('SELECT COUNT(*) AS n FROM change_requests WHERE title = ?1')
      .bind(title)
      .first<{ n: number }>();
    expect(row?.n).toBe(0);
  });

  it('accepts a valid token and reports who the caller is', async () => {
    const tok = await token({ sub: 'carol', tenant: 'auth-ok', roles: ['approver', 'viewer'] });
    const r = await meWith(`Bearer ${tok}`);
    expect(r.status).toBe(200);
    expect(r.errors).toBeUndefined();
    expect(r.data).toEqual({ me: { id: 'carol', tenantId: 'auth-ok', roles: ['approver', 'viewer'] } });
  });

  it('accepts the scheme case-insensitively ("bearer")', async () => {
    const tok = await token({ sub: 'carol', tenant: 'auth-ok' });
    const r = await meWith(`bearer ${tok}`);
    expect(r.status).toBe(200);
    expect(r.data).toMatchObject({ me: { id: 'carol' } });
  });

  const badCredentials: [string, () => Promise<string>, RegExp][] = [
    ['an expired token', async () => `Bearer ${await token({ expiresIn: '-1h' })}`, /expired/i],
    [
      'a token signed with the wrong secret',
      async () => `Bearer ${await token({ secret: 'not-the-server-secret-0123456789abcdef' })}`,
      /signature/i,
    ],
    [
      'an unsigned token (alg: none)',
      async () =>
        `Bearer ${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({
          sub: 'mallory',
          tenant: 'auth-none',
          roles: ['admin'],
          iat: nowS(),
          exp: nowS() + 3600,
        })}.`,
      /algorithm/i,
    ],
    [
      'an HS256 header with a forged empty signature',
      async () =>
        `Bearer ${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({
          sub: 'mallory',
          tenant: 'auth-none',
          roles: ['admin'],
          exp: nowS() + 3600,
        })}.`,
      /signature|malformed|invalid/i,
    ],
    ['a Basic authorization header', async () => 'Basic x', /Bearer <token>/],
    ['"Bearer" without a token', async () => 'Bearer', /Bearer <token>/],
    ['"Bearer" with two tokens', async () => 'Bearer a b', /Bearer <token>/],
    ['a token that is not a JWT', async () => 'Bearer not-a-jwt', /malformed|invalid/i],
    [
      'a token without a tenant claim',
      async () => `Bearer ${await signed({ sub: 'nora', roles: ['admin'] })}`,
      /"tenant"/,
    ],
    [
      'a token without a sub claim',
      async () => `Bearer ${await signed({ tenant: 'auth-bad', roles: ['admin'] })}`,
      /"sub"/,
    ],
    [
      'a token with an unknown role',
      async () => `Bearer ${await token({ tenant: 'auth-bad', roles: ['superuser' as Role] })}`,
      /"roles".*known roles/,
    ],
    [
      'a token with no roles',
      async () => `Bearer ${await token({ tenant: 'auth-bad', roles: [] })}`,
      /"roles"/,
    ],
    [
      'a token whose roles claim is a string',
      async () => `Bearer ${await signed({ sub: 'nora', tenant: 'auth-bad', roles: 'admin' })}`,
      /"roles"/,
    ],
    [
      'a token not valid yet (nbf in the future)',
      async () =>
        `Bearer ${await new SignJWT({ tenant: 'auth-bad', roles: ['admin'] })
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject('nora')
          .setNotBefore(nowS() + 3600)
          .setExpirationTime('2h')
          .sign(new TextEncoder().encode(env.JWT_SECRET))}`,
      /nbf|not valid yet/i,
    ],
  ];

  it.each(badCredentials)(
    'refuses %s with 401 UNAUTHENTICATED and says what is wrong',
    async (_l, auth, message) => {
      const r = await meWith(await auth());
      expect(r.status).toBe(401);
      expect(r.data ?? null).toBeNull();
      expect(r.errors).toHaveLength(1);
      expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(r.errors?.[0]?.message).toMatch(message);
      // The HTTP status is for the transport; it must not leak into the error shown to the caller.
      expect(JSON.stringify(r.errors)).not.toContain('"http"');
    },
  );
});

/** Counts the audit events of a tenant straight from D1. */
async function auditCount(tenant: string): Promise<number> {
  const row = await env.DB.prepare('SELECT COUNT(*) AS n FROM audit_events WHERE tenant_id = ?1')
    .bind(tenant)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

describe('role checks per field', () => {
  it('a viewer may read but not create a change (FORBIDDEN, 403 as the only error); a requester may', async () => {
    const c = await cast('auth-roles-create');
    const before = await auditCount(c.tenant);
    const r = await gql(CREATE, { input: changeInput() }, { token: c.viewer });
    expect(r.status).toBe(403);
    expect(r.data ?? null).toBeNull();
    expect(r.errors).toHaveLength(1);
    expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(r.errors?.[0]?.message).toMatch(/viewer.*createChangeRequest/);
    expect(r.errors?.[0]?.path).toEqual(['createChangeRequest']);
    expect(await auditCount(c.tenant)).toBe(before);

    const list = await gql<{ changes: { totalCount: number } }>(
      '{ changes { totalCount } }',
      {},
      {
        token: c.viewer,
      },
    );
    expect(list.status).toBe(200);
    expect(list.data?.changes.totalCount).toBe(0);

    const ok = await gql(CREATE, { input: changeInput() }, { token: c.requester });
    expect(ok.status).toBe(200);
    expect(ok.errors).toBeUndefined();
  });

  it('a requester may not schedule; the change stays APPROVED until a change manager schedules it', async () => {
    const c = await cast('auth-roles-schedule');
    const change = await approvedChange(c);
    const vars = { id: change.id, start: inDays(2), end: inDays(2, 12) };
    const denied = await gql(SCHEDULE, vars, { token: c.requester });
    expect(denied.status).toBe(403);
    expect(denied.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    expect(denied.errors?.[0]?.message).toMatch(/requester.*scheduleChange/);

    const read = await gql<{ change: { status: string; version: number } }>(
      GET,
      { id: change.id },
      {
        token: c.viewer,
      },
    );
    expect(read.data?.change).toMatchObject({ status: 'APPROVED', version: change.version });

    const ok = await gql<{ scheduleChange: { change: { status: string } } }>(SCHEDULE, vars, {
      token: c.manager,
    });
    expect(ok.errors).toBeUndefined();
    expect(ok.data?.scheduleChange.change.status).toBe('SCHEDULED');
  });

  it('an approver (or change manager) may not use emergencyOverride; an admin may', async () => {
    const c = await cast('auth-roles-override');
    const change = await createChange(c.requester, { type: 'EMERGENCY', title: 'Hotfix the TLS cert' });
    const vars = { id: change.id, justification: 'Certificate expires in one hour; outage otherwise.' };
    for (const tok of [c.approver1, c.manager, c.requester, c.viewer]) {
      const denied = await gql(OVERRIDE, vars, { token: tok });
      expect(denied.status).toBe(403);
      expect(denied.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
      expect(denied.errors?.[0]?.message).toContain('emergencyOverride');
    }
    const read = await gql<{ change: { status: string; version: number } }>(
      GET,
      { id: change.id },
      {
        token: c.viewer,
      },
    );
    expect(read.data?.change).toMatchObject({ status: 'DRAFT', version: 1 });

    const ok = await gql<{ emergencyOverride: { status: string } }>(OVERRIDE, vars, { token: c.admin });
    expect(ok.errors).toBeUndefined();
    expect(ok.data?.emergencyOverride.status).toBe('APPROVED');
  });

  const readers: [Role, boolean][] = [
    ['viewer', false],
    ['requester', false],
    ['approver', false],
    ['change_manager', true],
    ['admin', true],
  ];

  describe.each(readers)('as %s', (role, allowed) => {
    const tenant = `auth-reports-${role}`;
    const tok = () => token({ sub: `${role}-user`, tenant, roles: [role] });

    it(`${allowed ? 'reads' : 'may not read'} complianceReport`, async () => {
      const r = await gql<{ complianceReport: { score: number } }>(
        REPORT,
        { from: inDays(-30), to: inDays(1) },
        { token: await tok() },
      );
      if (allowed) {
        expect(r.status).toBe(200);
        expect(r.errors).toBeUndefined();
        expect(r.data?.complianceReport.score).toBe(100);
      } else {
        expect(r.status).toBe(403);
        expect(r.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
        expect(r.errors?.[0]?.message).toContain('complianceReport');
      }
    });

    it(`${allowed ? 'reads' : 'may not read'} verifyAuditChain`, async () => {
      const r = await gql<{ verifyAuditChain: { valid: boolean } }>(VERIFY, {}, { token: await tok() });
      if (allowed) {
        expect(r.status).toBe(200);
        expect(r.data?.verifyAuditChain.valid).toBe(true);
      } else {
        expect(r.status).toBe(403);
        expect(r.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
        expect(r.errors?.[0]?.message).toContain('verifyAuditChain');
      }
    });
  });

  it('a forbidden field next to an allowed one is reported by name, with FORBIDDEN', async () => {
    const tok = await token({ sub: 'vic', tenant: 'auth-mixed', roles: ['viewer'] });
    const r = await gql('{ me { id } verifyAuditChain { valid } }', {}, { token: tok });
    expect(r.status).toBe(403);
    expect(r.errors).toHaveLength(1);
    expect(r.errors?.[0]).toMatchObject({ path: ['verifyAuditChain'], extensions: { code: 'FORBIDDEN' } });
  });
});

describe('GET /health and request ids', () => {
  it('answers anonymously with status, version, environment, timestamp and the D1 check', async () => {
    const res = await exports.default.fetch('http://cf.test/health');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      status: 'ok',
      version: expect.any(String),
      environment: 'development',
      timestamp: expect.any(String),
      checks: { d1: 'ok', hub: 'ok' },
    });
    expect(Math.abs(Date.parse(String(body.timestamp)) - Date.now())).toBeLessThan(60_000);
  });

  const routes: [string, () => Promise<Response>, number][] = [
    ['an authenticated GraphQL operation', async () => post(await token({ tenant: 'auth-rid' })), 200],
    ['an anonymous GraphQL operation', () => post(null), 401],
    ['GET /health', () => exports.default.fetch('http://cf.test/health'), 200],
    ['an unknown route', () => exports.default.fetch('http://cf.test/no/such/route'), 404],
    ['GET /schema.graphql', () => exports.default.fetch('http://cf.test/schema.graphql'), 200],
  ];

  function post(tok: string | null, headers: Record<string, string> = {}) {
    return exports.default.fetch('http://cf.test/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(tok ? { authorization: `Bearer ${tok}` } : {}),
        ...headers,
      },
      body: JSON.stringify({ query: ME }),
    });
  }

  it.each(routes)('%s has an X-Request-Id', async (_label, send, status) => {
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.headers.get('x-request-id')).toMatch(/^[A-Za-z0-9._:-]{8,128}$/);
  });

  it('gives every request its own id', async () => {
    const ids = new Set<string | null>();
    for (let i = 0; i < 3; i++)
      ids.add((await exports.default.fetch('http://cf.test/health')).headers.get('x-request-id'));
    expect(ids.size).toBe(3);
  });

  it.each([
    ['GraphQL', async (rid: string) => post(await token({ tenant: 'auth-rid' }), { 'x-request-id': rid })],
    [
      'health',
      (rid: string) => exports.default.fetch('http://cf.test/health', { headers: { 'x-request-id': rid } }),
    ],
    [
      '404',
      (rid: string) => exports.default.fetch('http://cf.test/nope', { headers: { 'x-request-id': rid } }),
    ],
  ])('echoes a well-formed incoming X-Request-Id (%s)', async (_label, send) => {
    const rid = `trace-${crypto.randomUUID()}`;
    const res = await send(rid);
    expect(res.headers.get('x-request-id')).toBe(rid);
  });

  it.each([
    ['too short', 'abc'],
    ['with spaces', 'not a valid id at all'],
    ['with a header injection attempt', 'abcdefgh<script>'],
    ['too long', 'x'.repeat(129)],
  ])('replaces an ill-formed incoming X-Request-Id (%s)', async (_label, rid) => {
    const res = await exports.default.fetch('http://cf.test/health', { headers: { 'x-request-id': rid } });
    const got = res.headers.get('x-request-id');
    expect(got).not.toBe(rid);
    expect(got).toMatch(/^[0-9a-f-]{36}$/);
  });
});

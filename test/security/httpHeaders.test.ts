import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { type AppBindings, createApp } from '../../src/http/app';
import { CORS_ALLOWED_HEADERS } from '../../src/http/cors';
import { API_CSP } from '../../src/http/securityHeaders';
import { schema } from '../../src/schema';
import { TEST_AUDIENCE, TEST_MCP_RESOURCE, token } from '../helpers/auth';

/**
 * What every response carries (security headers), who may read it from a browser (CORS, from
 * CORS_ORIGINS exactly) and which browser requests are refused as possible CSRF.
 */
const TENANT = 'http-headers';
let admin: string;

beforeAll(async () => {
  admin = await token({ sub: 'headers', tenant: TENANT, roles: ['admin'], issuer: ISSUER });
});

const app = createApp(schema);
const ALLOWED = 'https://app.example';
/** The MCP metadata names an authorization server outside development: JWT_ISSUER. */
const ISSUER = 'https://idp.example';
const production: AppBindings = {
  ...env,
  ENVIRONMENT: 'production',
  CORS_ORIGINS: ALLOWED,
  JWT_SECRET: env.JWT_SECRET,
  JWT_AUDIENCE: TEST_AUDIENCE,
  JWT_ISSUER: ISSUER,
  MCP_RESOURCE_URL: TEST_MCP_RESOURCE,
};

const worker = (path: string, init: RequestInit = {}) => exports.default.fetch(`http://cf.test${path}`, init);
const inApp = (bindings: AppBindings, path: string, init: RequestInit = {}) =>
  app.fetch(new Request(`http://cf.test${path}`, init), bindings);

const graphqlPost = (headers: Record<string, string> = {}, query = '{ me { id } }'): RequestInit => ({
  method: 'POST',
  headers: {
    'content-type': 'application/json',
    accept: 'application/graphql-response+json',
    authorization: `Bearer ${admin}`,
    ...headers,
  },
  body: JSON.stringify({ query }),
});

const mcpInitialize = (headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    authorization: `Bearer ${admin}`,
    ...headers,
  },
  body: JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'headers-test', version: '1' },
    },
  }),
});

const preflight = (
  origin: string,
  method = 'POST',
  headers = 'authorization, content-type',
): RequestInit => ({
  method: 'OPTIONS',
  headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
});

function expectSecurityHeaders(res: Response, { hsts }: { hsts: boolean }) {
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  expect(res.headers.get('x-frame-options')).toBe('DENY');
  // None was sent, so one was made for the request.
  expect(res.headers.get('x-request-id')).toMatch(
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
  );
  if (hsts) expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
  else expect(res.headers.get('strict-transport-security')).toBeNull();
}

const varies = (res: Response) =>
  (res.headers.get('vary') ?? '')
    .split(',')
    .map((v) => v.trim().toLowerCase())
    .filter(Boolean);

describe('security headers on every response', () => {
  /** Requests built when the test runs (the token is signed in beforeAll). */
  const cases: [string, string, () => RequestInit, number][] = [
    ['a GraphQL answer', '/graphql', () => graphqlPost(), 200],
    ['a GraphQL error', '/graphql', () => graphqlPost({}, '{ nope }'), 400],
    ['an unauthenticated GraphQL request', '/graphql', () => graphqlPost({ authorization: '' }), 401],
    ['the health check', '/health', () => ({}), 200],
    ['an unknown route', '/nope', () => ({}), 404],
    ['an MCP answer', '/mcp', () => mcpInitialize(), 200],
    ['an MCP refusal', '/mcp', () => ({ method: 'GET' }), 405],
    ['the SDL', '/schema.graphql', () => ({}), 200],
    ['the protected-resource metadata', '/.well-known/oauth-protected-resource', () => ({}), 200],
    ['a preflight', '/graphql', () => preflight(ALLOWED), 204],
  ];

  it.each(cases)('%s (development: no HSTS)', async (_label, path, init, status) => {
    const res = await worker(path, init());
    expect(res.status).toBe(status);
    expectSecurityHeaders(res, { hsts: false });
    expect(res.headers.get('content-security-policy')).toBe(API_CSP);
  });

  it.each(cases)('%s (production: with HSTS)', async (_label, path, init, status) => {
    const res = await inApp(production, path, init());
    // The SDL is published only where introspection is on (off by default in production).
    expect(res.status).toBe(path === '/schema.graphql' ? 403 : status);
    expectSecurityHeaders(res, { hsts: true });
    expect(res.headers.get('content-security-policy')).toBe(API_CSP);
  });

  it("is \"default-src 'none'; frame-ancestors 'none'\" (and no base or form targets) for API responses", () => {
    expect(API_CSP).toBe("default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
  });

  it('also on an invalid configuration (503) and a rate-limit refusal', async () => {
    const broken = await app.fetch(new Request('http://cf.test/graphql', graphqlPost()), {
      ...env,
      RATE_LIMIT_PER_MINUTE: 'lots',
    });
    expect(broken.status).toBe(503);
    expectSecurityHeaders(broken, { hsts: true });
    expect(broken.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('the GraphiQL page (development)', () => {
  async function sha256(text: string) {
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
    return `'sha256-${btoa(String.fromCharCode(...new Uint8Array(digest)))}'`;
  }

  it('gets a CSP that allows what the page loads: its inline scripts by hash, blob: workers, nothing from elsewhere', async () => {
    const res = await worker('/graphql', { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expectSecurityHeaders(res, { hsts: false });
    const html = await res.text();
    expect(html).toContain('ChangeFlow GraphiQL');
    const csp = res.headers.get('content-security-policy') ?? '';
    const directives = Object.fromEntries(
      csp.split(';').map((d) => {
        const [name = '', ...values] = d.trim().split(/\s+/);
        return [name, values];
      }),
    );
    expect(directives['default-src']).toEqual(["'none'"]);
    expect(directives['frame-ancestors']).toEqual(["'none'"]);
    expect(directives['worker-src']).toEqual(['blob:']);
    expect(directives['connect-src']).toContain("'self'");
    expect(directives['script-src']).not.toContain("'unsafe-inline'");
    expect(directives['script-src']).not.toContain("'unsafe-eval'");
    // The page is offline: it names no script or stylesheet from elsewhere, and the CSP allows
    // this origin and exactly its inline scripts, by hash.
    expect(html).not.toMatch(/<script[^>]*\bsrc=/);
    expect(html).not.toMatch(/<link[^>]*rel=["']?stylesheet/);
    const inline = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1] as string);
    expect(inline.length).toBeGreaterThan(0);
    expect(directives['script-src']).toEqual(["'self'", ...(await Promise.all(inline.map(sha256)))]);
    expect(directives['style-src']).toEqual(["'self'", "'unsafe-inline'"]);
  });

  it('is not served in production', async () => {
    const res = await inApp(production, '/graphql', { headers: { accept: 'text/html' } });
    // Without GraphiQL, a GET that admits only HTML asks for no type the API serves.
    expect(res.status).toBe(406);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe(API_CSP);
    expect(await res.json()).toEqual({
      errors: [
        {
          message:
            'Cannot answer in any type the Accept header "text/html" admits; accept one of: text/event-stream, multipart/mixed, application/graphql-response+json, application/json',
          extensions: { code: 'NOT_ACCEPTABLE' },
        },
      ],
    });
  });
});

describe('CORS from CORS_ORIGINS exactly', () => {
  describe.each(['/graphql', '/mcp'])('%s', (path) => {
    const request = (origin: string) =>
      path === '/graphql' ? graphqlPost({ origin }) : mcpInitialize({ origin });

    it('gives an allowed origin Access-Control-Allow-Origin: that origin, and Vary: Origin', async () => {
      const res = await inApp(production, path, request(ALLOWED));
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
      expect(varies(res)).toContain('origin');
      expect(res.headers.get('access-control-expose-headers')).toContain('x-request-id');
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    });

    it('gives a disallowed origin no Access-Control-Allow-Origin', async () => {
      const res = await inApp(production, path, request('https://evil.example'));
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      expect(varies(res)).toContain('origin');
    });

    it('answers an allowed preflight with 204, the methods and every header our clients send', async () => {
      const res = await inApp(
        production,
        path,
        preflight(ALLOWED, 'POST', 'authorization, content-type, mcp-protocol-version'),
      );
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
      expect(res.headers.get('access-control-allow-methods')?.split(/,\s*/)).toEqual([
        'GET',
        'POST',
        'OPTIONS',
      ]);
      const allowed = res.headers.get('access-control-allow-headers')?.split(/,\s*/) ?? [];
      for (const header of [
        'authorization',
        'content-type',
        'x-api-key',
        'idempotency-key',
        'mcp-protocol-version',
        'x-request-id',
      ]) {
        expect(allowed).toContain(header);
      }
      expect(allowed).toEqual([...CORS_ALLOWED_HEADERS]);
      // Browsers may cache the preflight for ten minutes.
      expect(res.headers.get('access-control-max-age')).toBe('600');
      expect(varies(res)).toContain('origin');
      expect(await res.text()).toBe('');
    });

    it('refuses a preflight from a disallowed origin with 403 and no Access-Control-Allow-* header', async () => {
      const res = await inApp(production, path, preflight('https://evil.example'));
      expect(res.status).toBe(403);
      for (const name of res.headers.keys()) expect(name).not.toMatch(/^access-control-allow/);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('CORS_ORIGIN_NOT_ALLOWED');
      expect(body.error.message).toContain('https://evil.example');
    });

    it('answers an OPTIONS that is not a preflight with 204 and Allow', async () => {
      const res = await inApp(production, path, { method: 'OPTIONS' });
      expect(res.status).toBe(204);
      expect(res.headers.get('allow')).toBe('GET, POST, OPTIONS');
    });
  });

  it('matches origins exactly: scheme, host and port', async () => {
    for (const origin of [
      'http://app.example',
      'https://app.example:8443',
      'https://sub.app.example',
      'null',
    ]) {
      const res = await inApp(production, '/graphql', graphqlPost({ origin }));
      expect(res.headers.get('access-control-allow-origin'), origin).toBeNull();
    }
  });

  it('allows each of several origins, answering with the one that asked', async () => {
    const bindings = { ...production, CORS_ORIGINS: 'https://a.example, https://b.example' };
    for (const origin of ['https://a.example', 'https://b.example']) {
      const res = await inApp(bindings, '/graphql', graphqlPost({ origin }));
      expect(res.headers.get('access-control-allow-origin')).toBe(origin);
    }
    const other = await inApp(bindings, '/graphql', graphqlPost({ origin: 'https://c.example' }));
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('allows no origin at all outside development when CORS_ORIGINS is empty', async () => {
    const staging = {
      ...env,
      ENVIRONMENT: 'staging',
      CORS_ORIGINS: '',
      JWT_SECRET: env.JWT_SECRET,
      JWT_AUDIENCE: TEST_AUDIENCE,
    };
    const res = await inApp(staging, '/graphql', graphqlPost({ origin: 'https://anyone.example' }));
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect((await inApp(staging, '/graphql', preflight('https://anyone.example'))).status).toBe(403);
  });

  it('answers * in development (the default CORS_ORIGINS there)', async () => {
    const res = await worker('/graphql', graphqlPost({ origin: 'http://localhost:5173' }));
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const pre = await worker('/mcp', preflight('http://localhost:5173'));
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('adds CORS headers to refusals too, so that a browser client can read them', async () => {
    const res = await inApp(production, '/graphql', graphqlPost({ origin: ALLOWED, authorization: '' }));
    expect(res.status).toBe(401);
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
  });
});

describe('CSRF prevention on /graphql', () => {
  /** What a cross-site <img>, <script> or link would send. */
  const browserGet = (headers: Record<string, string> = {}): RequestInit => ({
    headers: {
      accept: 'application/graphql-response+json',
      origin: 'https://evil.example',
      'sec-fetch-site': 'cross-site',
      'sec-fetch-mode': 'no-cors',
      ...headers,
    },
  });
  const query = `/graphql?query=${encodeURIComponent('{ me { id } }')}`;

  it('refuses a GET query without a preflight-forcing header with 403 CSRF_HEADER_REQUIRED', async () => {
    const res = await worker(query, browserGet());
    expect(res.status).toBe(403);
    const body = (await res.json()) as {
      data?: unknown;
      errors: { message: string; extensions: { code: string } }[];
    };
    expect(body.data ?? null).toBeNull();
    expect(body.errors[0]?.extensions.code).toBe('CSRF_HEADER_REQUIRED');
    expect(body.errors[0]?.message).toContain('x-graphql-csrf');
    expectSecurityHeaders(res, { hsts: false });
  });

  it('serves a GET query that carries credentials in a header', async () => {
    const res = await worker(query, browserGet({ authorization: `Bearer ${admin}` }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { me: { id: 'headers' } } });
  });

  it('lets a GET with X-GraphQL-CSRF through to authentication', async () => {
    const res = await worker(query, browserGet({ 'x-graphql-csrf': '1' }));
    expect(res.status).toBe(401);
    const body = (await res.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0]?.extensions.code).toBe('UNAUTHENTICATED');
  });

  it.each([
    ['text/plain', JSON.stringify({ query: '{ me { id } }' })],
    ['application/x-www-form-urlencoded', `query=${encodeURIComponent('{ me { id } }')}`],
    [
      'multipart/form-data; boundary=x',
      '--x\r\nContent-Disposition: form-data; name="query"\r\n\r\n{ me { id } }\r\n--x--',
    ],
  ])('refuses a %s POST (what a cross-site form sends) without one', async (type, body) => {
    const res = await worker('/graphql', {
      method: 'POST',
      headers: { 'content-type': type, origin: 'https://evil.example', accept: 'application/json' },
      body,
    });
    expect(res.status).toBe(403);
    const json = (await res.json()) as { errors: { extensions: { code: string } }[] };
    expect(json.errors[0]?.extensions.code).toBe('CSRF_HEADER_REQUIRED');
  });

  it('serves a JSON POST (it needs a preflight already)', async () => {
    const res = await worker('/graphql', graphqlPost({ origin: 'http://localhost:5173' }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { me: { id: 'headers' } } });
  });

  it('answers a JSON POST without credentials with 401, not a CSRF refusal', async () => {
    const res = await worker('/graphql', graphqlPost({ authorization: '' }));
    expect(res.status).toBe(401);
  });

  it('still serves the GraphiQL page to a browser GET', async () => {
    const res = await worker('/graphql', { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
  });
});

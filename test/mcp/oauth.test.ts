import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { type AppBindings, createApp } from '../../src/http/app';
import { schema } from '../../src/schema';
import { TEST_AUDIENCE, token } from '../helpers/auth';
import { gqlOk } from '../helpers/graphql';
import { MCP_URL } from '../helpers/mcp';

/**
 * /mcp as an OAuth protected resource: the RFC 9728 metadata, the RFC 6750 challenges, the
 * RFC 8707 audience rule and the `scope` claim mapped to roles. test/node/oauth.test.mjs runs the
 * same against a real authorization server.
 */

const TENANT = 'mcp-oauth';
const RESOURCE = 'https://changeflow.example.com/mcp';
const ISSUER = 'https://idp.example.com';
const app = createApp(schema);
const production: AppBindings = {
  ...env,
  ENVIRONMENT: 'production',
  JWT_AUDIENCE: TEST_AUDIENCE,
  JWT_ISSUER: ISSUER,
  MCP_RESOURCE_URL: RESOURCE,
};

/** An HS256 token with exactly these claims (besides sub, tenant, iat and exp). */
function signed(claims: Record<string, unknown>, sub = 'olga'): Promise<string> {
  return new SignJWT({ tenant: TENANT, ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(env.JWT_SECRET));
}

const initialize = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'oauth-test', version: '1' },
  },
});
const listTools = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });

/** POSTs one JSON-RPC message to /mcp, on the test worker (development) or on `bindings`. */
function mcp(body: string, credential: string | null, bindings?: AppBindings, url = MCP_URL) {
  const request = new Request(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(credential ? { authorization: `Bearer ${credential}` } : {}),
    },
    body,
  });
  return bindings ? app.fetch(request, bindings) : exports.default.fetch(request);
}

const graphqlMe = (tok: string, bindings: AppBindings) =>
  app.fetch(
    new Request('https://changeflow.example.com/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tok}` },
      body: JSON.stringify({ query: '{ me { id roles } }' }),
    }),
    bindings,
  );

interface RpcAnswer {
  result?: { tools?: { name: string }[] };
  error?: { code: number; message: string; data?: { code?: string; variables?: string[] } };
}

describe('protected-resource metadata (RFC 9728)', () => {
  it('names this resource, the scopes it checks and documentation that resolves (development)', async () => {
    for (const path of [
      '/.well-known/oauth-protected-resource/mcp',
      '/.well-known/oauth-protected-resource',
    ]) {
      const res = await exports.default.fetch(`http://cf.test${path}`);
      expect(res.status).toBe(200);
      const metadata = (await res.json()) as Record<string, unknown>;
      expect(metadata).toEqual({
        resource: MCP_URL,
        resource_name: 'ChangeFlow MCP',
        bearer_methods_supported: ['header'],
        scopes_supported: [
          'changeflow:viewer',
          'changeflow:requester',
          'changeflow:approver',
          'changeflow:change_manager',
          'changeflow:admin',
        ],
        resource_documentation: 'http://cf.test/docs/mcp',
      });
      // No JWT_ISSUER in the test worker: there is no authorization server to name.
      expect(metadata).not.toHaveProperty('authorization_servers');
      const docs = await exports.default.fetch(metadata.resource_documentation as string);
      expect(docs.status).toBe(200);
      expect(await docs.text()).toContain('changeflow:change_manager');
    }
  });

  it('names MCP_RESOURCE_URL and JWT_ISSUER in production, and its documentation answers 200 there', async () => {
    const res = await app.fetch(
      new Request('https://changeflow.example.com/.well-known/oauth-protected-resource/mcp'),
      production,
    );
    expect(res.status).toBe(200);
    const metadata = (await res.json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({
      resource: RESOURCE,
      authorization_servers: [ISSUER],
      resource_documentation: 'https://changeflow.example.com/docs/mcp',
    });
    const docs = await app.fetch(new Request(metadata.resource_documentation as string), production);
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-type')).toMatch(/text\/html/);
    const page = await docs.text();
    expect(page).toContain(RESOURCE);
    expect(page).toContain(ISSUER);
    // The old resource_documentation, the SDL, is not published in production.
    expect(
      (await app.fetch(new Request('https://changeflow.example.com/schema.graphql'), production)).status,
    ).toBe(403);
  });

  it.each([
    ['MCP_RESOURCE_URL', { MCP_RESOURCE_URL: '' }],
    ['JWT_ISSUER', { JWT_ISSUER: '' }],
    ['JWT_ISSUER', { JWT_ISSUER: 'not-a-url' }],
  ] as const)(
    'is CONFIG_INVALID naming %s outside development until it can be complete',
    async (variable, vars) => {
      const res = await app.fetch(
        new Request('https://changeflow.example.com/.well-known/oauth-protected-resource/mcp'),
        { ...production, ...vars },
      );
      expect(res.status).toBe(503);
      const body = (await res.json()) as { error: { code: string; message: string; variables: string[] } };
      expect(body.error).toMatchObject({ code: 'CONFIG_INVALID', variables: [variable] });
      expect(body.error.message).toContain(variable);
    },
  );

  it('refuses MCP_RESOURCE_URL with a fragment or query at configuration', async () => {
    for (const bad of ['https://x.example/mcp#a', 'https://x.example/mcp?a=1', 'ftp://x.example/mcp']) {
      const res = await app.fetch(new Request('https://x.example/health'), {
        ...production,
        MCP_RESOURCE_URL: bad,
      });
      expect(res.status).toBe(503);
      expect(await res.text()).toContain('MCP_RESOURCE_URL');
    }
  });
});

describe('MCP_RESOURCE_URL outside development', () => {
  it('answers /mcp CONFIG_INVALID without it, while /graphql serves', async () => {
    const bindings = { ...production, MCP_RESOURCE_URL: undefined };
    const tok = await token({ tenant: TENANT, issuer: ISSUER });
    const res = await mcp(initialize, tok, bindings, RESOURCE);
    expect(res.status).toBe(503);
    const body = (await res.json()) as RpcAnswer;
    expect(body.error?.data).toMatchObject({ code: 'CONFIG_INVALID', variables: ['MCP_RESOURCE_URL'] });
    expect((await graphqlMe(tok, bindings)).status).toBe(200);
  });
});

describe('the challenge (RFC 6750, MCP authorization)', () => {
  const metadata = 'http://cf.test/.well-known/oauth-protected-resource/mcp';

  it('answers no credential with 401, the metadata and the scope to ask for', async () => {
    const res = await mcp(initialize, null);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${metadata}", scope="changeflow:viewer"`,
    );
    expect(((await res.json()) as RpcAnswer).error?.data?.code).toBe('UNAUTHENTICATED');
  });

  it('answers a refused token with error="invalid_token"', async () => {
    const res = await mcp(initialize, 'not-a-jwt');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer error="invalid_token", resource_metadata="${metadata}", scope="changeflow:viewer"`,
    );
  });

  it('answers a valid token whose scopes grant no role with 403 insufficient_scope', async () => {
    const res = await mcp(initialize, await signed({ scope: 'openid email', aud: MCP_URL }));
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer error="insufficient_scope", resource_metadata="${metadata}", scope="changeflow:viewer"`,
    );
    const body = (await res.json()) as RpcAnswer;
    expect(body.error?.data?.code).toBe('FORBIDDEN');
    expect(body.error?.message).toContain('changeflow:viewer');
  });

  it("points at MCP_RESOURCE_URL's metadata in production, whatever host the request named", async () => {
    const res = await mcp(initialize, null, production, 'https://changeflow.internal/mcp');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain(
      'resource_metadata="https://changeflow.example.com/.well-known/oauth-protected-resource/mcp"',
    );
  });
});

describe('step-up: a tool beyond the scopes (403 insufficient_scope)', () => {
  const call = (name: string) =>
    JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name, arguments: {} } });

  it('names the scopes held plus the least one that reaches the tool', async () => {
    const tok = await signed({ scope: 'changeflow:viewer', aud: MCP_URL });
    const res = await mcp(call('create_change_request'), tok);
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toBe(
      'Bearer error="insufficient_scope", scope="changeflow:viewer changeflow:requester", resource_metadata="http://cf.test/.well-known/oauth-protected-resource/mcp"',
    );
    const body = (await res.json()) as RpcAnswer;
    expect(body.error?.data).toMatchObject({ code: 'FORBIDDEN', requiredScope: 'changeflow:requester' });
    // A tool the scopes do reach is served as usual.
    expect((await mcp(call('whoami'), tok)).status).toBe(200);
  });

  it('leaves a token without "scope" (it cannot step up) to the FORBIDDEN tool result', async () => {
    const res = await mcp(call('create_change_request'), await signed({ roles: ['viewer'], aud: MCP_URL }));
    expect(res.status).toBe(200);
    expect(res.headers.get('www-authenticate')).toBeNull();
    expect(JSON.stringify(await res.json())).toContain('FORBIDDEN');
  });
});

describe('the audience of MCP tokens (RFC 8707)', () => {
  it('refuses at /mcp a token issued for another resource, in development too', async () => {
    const tok = await signed({ roles: ['admin'], aud: 'https://other.example/mcp' });
    const res = await mcp(initialize, tok);
    expect(res.status).toBe(401);
    const body = (await res.json()) as RpcAnswer;
    expect(body.error?.data?.code).toBe('UNAUTHENTICATED');
    expect(body.error?.message).toContain('issued for another resource');
    expect(body.error?.message).toContain(MCP_URL);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('accepts in development a token without "aud" (npm run token) and one that names the resource', async () => {
    for (const claims of [{}, { aud: MCP_URL }, { aud: ['something-else', MCP_URL] }]) {
      const res = await mcp(initialize, await signed({ roles: ['viewer'], ...claims }));
      expect(res.status, JSON.stringify(claims)).toBe(200);
    }
  });

  it('requires MCP_RESOURCE_URL in "aud" at /mcp in production, and JWT_AUDIENCE at /graphql', async () => {
    const iss = ISSUER;
    const forMcp = await signed({ roles: ['admin'], aud: RESOURCE, iss });
    const forApi = await signed({ roles: ['admin'], aud: TEST_AUDIENCE, iss });
    const forBoth = await signed({ roles: ['admin'], aud: [TEST_AUDIENCE, RESOURCE], iss });
    const noAud = await signed({ roles: ['admin'], iss });

    expect((await mcp(initialize, forMcp, production, RESOURCE)).status).toBe(200);
    expect((await mcp(initialize, forBoth, production, RESOURCE)).status).toBe(200);
    const refused = await mcp(initialize, forApi, production, RESOURCE);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as RpcAnswer).error?.message).toContain(RESOURCE);
    const none = await mcp(initialize, noAud, production, RESOURCE);
    expect(none.status).toBe(401);
    expect(((await none.json()) as RpcAnswer).error?.message).toMatch(/no "aud" claim/);

    expect((await graphqlMe(forApi, production)).status).toBe(200);
    expect((await graphqlMe(forBoth, production)).status).toBe(200);
    expect((await graphqlMe(forMcp, production)).status).toBe(401);
  });

  it('leaves API keys alone', async () => {
    const admin = await token({ tenant: TENANT, sub: 'olga' });
    const { createApiKey } = await gqlOk<{ createApiKey: { secret: string } }>(
      'mutation { createApiKey(name: "oauth-test", roles: [viewer]) { secret } }',
      {},
      admin,
    );
    const res = await mcp(listTools, createApiKey.secret, production, RESOURCE);
    expect(res.status).toBe(200);
    expect(((await res.json()) as RpcAnswer).result?.tools?.length).toBeGreaterThan(0);
  });
});

describe('the scope claim (changeflow:<role>)', () => {
  const toolsOf = async (claims: Record<string, unknown>) => {
    const res = await mcp(listTools, await signed({ aud: MCP_URL, ...claims }));
    expect(res.status).toBe(200);
    return ((await res.json()) as RpcAnswer).result?.tools?.map((t) => t.name) ?? [];
  };
  const rolesOf = async (claims: Record<string, unknown>) => {
    const res = await app.fetch(
      new Request('http://cf.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await signed(claims)}` },
        body: JSON.stringify({ query: '{ me { roles } }' }),
      }),
      env,
    );
    const body = (await res.json()) as {
      data?: { me: { roles: string[] } };
      errors?: { extensions: { code: string } }[];
    };
    return body.data?.me.roles ?? body.errors?.[0]?.extensions.code;
  };

  it.each([
    [
      'scope only: the roles its scopes name',
      { scope: 'openid changeflow:approver changeflow:requester' },
      ['requester', 'approver'],
    ],
    ['a list of scopes', { scope: ['changeflow:viewer'] }, ['viewer']],
    [
      'both: their intersection',
      { roles: ['approver', 'requester'], scope: 'changeflow:approver changeflow:admin' },
      ['approver'],
    ],
    [
      'both: a scope below a held role counts',
      { roles: ['change_manager'], scope: 'changeflow:viewer' },
      ['viewer'],
    ],
    ['roles only: unchanged', { roles: ['approver'] }, ['approver']],
    ['both, no role in common', { roles: ['requester'], scope: 'changeflow:admin' }, 'FORBIDDEN'],
    ['a scope with no changeflow: role', { roles: ['admin'], scope: 'openid profile' }, 'FORBIDDEN'],
    ['a scope that is not a string', { scope: 42 }, 'UNAUTHENTICATED'],
  ])('%s', async (_label, claims, expected) => {
    expect(await rolesOf(claims)).toEqual(expected);
  });

  it('shows only the tools of the roles the scopes grant', async () => {
    const viewer = await toolsOf({ roles: ['admin'], scope: 'changeflow:viewer' });
    const admin = await toolsOf({ roles: ['admin'], scope: 'changeflow:admin' });
    expect(viewer).toContain('get_change_status');
    expect(viewer).not.toContain('create_change_request');
    expect(admin).toContain('create_change_request');
    expect(admin.length).toBeGreaterThan(viewer.length);
  });
});

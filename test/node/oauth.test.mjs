// OAuth for remote MCP clients, against a real OAuth 2.1 / OIDC authorization server: `oidc-provider`
// on a loopback port issues RS256 JWT access tokens by client_credentials with resource indicators
// (RFC 8707), and the Node runtime trusts it (JWT_JWKS_URL, JWT_ISSUER). A client finds everything
// from a 401 on /mcp: the WWW-Authenticate challenge, the protected-resource metadata (RFC 9728),
// the authorization server's discovery document, a token for this resource; a token for another
// resource is refused, and scopes decide which tools a token reaches. The MCP SDK's own
// client_credentials provider then does the whole dance by itself.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  Client,
  ClientCredentialsProvider,
  InsufficientScopeError,
  StreamableHTTPClientTransport,
} from '@modelcontextprotocol/client';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';
import { buildNodeServer } from '../../scripts/buildNode.mjs';
import { startBundle } from './nodeBundle.mjs';

const BUNDLE = fileURLToPath(new URL('../../dist/node/oauth-test-server.mjs', import.meta.url));
const TENANT = 'oauth-agents';
const SCOPES = ['viewer', 'requester', 'approver', 'change_manager', 'admin'].map((r) => `changeflow:${r}`);
const OTHER_RESOURCE = 'https://other-api.example/';
/** Two machine clients: one may ask for viewer and requester, the other for viewer only. */
const CLIENTS = {
  agent: { secret: 'agent-secret-0123456789abcdef', scope: 'changeflow:viewer changeflow:requester' },
  reader: { secret: 'reader-secret-0123456789abcdef', scope: 'changeflow:viewer' },
};

/** oidc-provider on 127.0.0.1, port 0: resolves its issuer URL and a stop function. */
async function startAuthorizationServer() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const provider = new Provider(issuer, {
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'oauth-test', alg: 'RS256', use: 'sig' }] },
    clients: Object.entries(CLIENTS).map(([id, c]) => ({
      client_id: id,
      client_secret: c.secret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      scope: c.scope,
    })),
    scopes: SCOPES,
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // Any resource a client names gets a JWT access token for it: refusing a token minted for
        // another resource is the resource server's job (ours), which is what is tested.
        getResourceServerInfo: () => ({
          scope: SCOPES.join(' '),
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    ttl: { ClientCredentials: 300 },
    // ChangeFlow needs to know the tenant; an IdP adds such claims to the tokens it issues.
    extraTokenClaims: () => ({ tenant: TENANT }),
  });
  server.on('request', provider.callback());
  return { issuer, stop: () => new Promise((resolve) => server.close(resolve)) };
}

/** The bundled Node runtime on a loopback port 0 (see nodeBundle.mjs). */
const startChangeFlow = (dbFile, env) => startBundle(BUNDLE, dbFile, env);

/** The parameters of a `Bearer k="v", …` challenge. */
function challengeParams(header) {
  assert.match(header ?? '', /^Bearer /);
  return Object.fromEntries([...header.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
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

describe('OAuth for MCP clients against oidc-provider', () => {
  let dir;
  let as;
  let changeflow;
  let base;
  /** What the discovery from the 401 found. */
  const found = {};

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'changeflow-oauth-'));
    as = await startAuthorizationServer();
    await buildNodeServer(BUNDLE);
    // Development: MCP_RESOURCE_URL is then the request's origin + /mcp (the port is chosen at start).
    changeflow = startChangeFlow(join(dir, 'oauth.sqlite'), {
      ENVIRONMENT: 'development',
      JWT_SECRET: '',
      JWT_JWKS_URL: `${as.issuer}/jwks`,
      JWT_ISSUER: as.issuer,
    });
    ({ base } = await changeflow.ready);
  });

  after(async () => {
    await changeflow?.stop();
    await as?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    for (const f of [BUNDLE, `${BUNDLE}.map`]) rmSync(f, { force: true });
  });

  /** A token from the authorization server's token endpoint (client_credentials, RFC 8707 resource). */
  async function tokenFor(client, { resource, scope }) {
    const res = await fetch(found.tokenEndpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${client}:${CLIENTS[client].secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource, scope }),
    });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    return body;
  }

  /** POSTs an initialize to `base`/mcp with a bearer token. */
  const postMcp = (url, accessToken) =>
    fetch(`${url}/mcp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}),
      },
      body: initialize,
    });

  /** An MCP SDK client on /mcp with a bearer token. */
  async function mcpClient(accessToken) {
    const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${accessToken}` } },
    });
    const client = new Client({ name: 'oauth-test', version: '1.0.0' });
    await client.connect(transport);
    return client;
  }

  test('a 401 from /mcp leads to the metadata, and the metadata to the authorization server', async () => {
    const res = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: initialize,
    });
    assert.equal(res.status, 401);
    const challenge = challengeParams(res.headers.get('www-authenticate'));
    assert.equal(challenge.resource_metadata, `${base}/.well-known/oauth-protected-resource/mcp`);
    assert.equal(challenge.scope, 'changeflow:viewer');

    const metadata = await (await fetch(challenge.resource_metadata)).json();
    assert.equal(metadata.resource, `${base}/mcp`);
    assert.deepEqual(metadata.authorization_servers, [as.issuer]);
    assert.deepEqual(metadata.scopes_supported, SCOPES);
    assert.equal((await fetch(metadata.resource_documentation)).status, 200);

    const discovery = await (
      await fetch(`${metadata.authorization_servers[0]}/.well-known/openid-configuration`)
    ).json();
    assert.equal(discovery.issuer, as.issuer);
    assert.ok(discovery.grant_types_supported.includes('client_credentials'));
    for (const scope of SCOPES) assert.ok(discovery.scopes_supported.includes(scope), scope);
    Object.assign(found, { resource: metadata.resource, tokenEndpoint: discovery.token_endpoint });
  });

  test('a token obtained for this resource calls MCP tools with the roles its scopes name', async () => {
    const token = await tokenFor('agent', {
      resource: found.resource,
      scope: 'changeflow:viewer changeflow:requester',
    });
    assert.equal(token.token_type, 'Bearer');
    const client = await mcpClient(token.access_token);
    try {
      const whoami = await client.callTool({ name: 'whoami', arguments: {} });
      assert.equal(whoami.isError, undefined, JSON.stringify(whoami));
      assert.deepEqual(whoami.structuredContent, {
        ...whoami.structuredContent,
        id: 'agent',
        tenantId: TENANT,
        roles: ['viewer', 'requester'],
      });
      const created = await client.callTool({
        name: 'create_change_request',
        arguments: {
          input: {
            title: 'Rotate the TLS certificate',
            description: 'Requested by an agent with an OAuth token',
            impact: 'LOW',
            urgency: 'LOW',
            affectedServices: ['edge'],
          },
        },
      });
      assert.equal(created.isError, undefined, JSON.stringify(created));
      assert.match(JSON.stringify(created.structuredContent), /"status":"DRAFT"/);
    } finally {
      await client.close();
    }
  });

  test('a token issued for another resource is refused with 401 UNAUTHENTICATED', async () => {
    const token = await tokenFor('agent', { resource: OTHER_RESOURCE, scope: 'changeflow:viewer' });
    const res = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${token.access_token}`,
      },
      body: initialize,
    });
    assert.equal(res.status, 401);
    assert.equal(challengeParams(res.headers.get('www-authenticate')).error, 'invalid_token');
    const body = await res.json();
    assert.equal(body.error.data.code, 'UNAUTHENTICATED');
    assert.match(body.error.message, /issued for another resource/);
    assert.ok(body.error.message.includes(found.resource), body.error.message);
  });

  test("a token whose scopes do not include a role cannot call that role's tools", async () => {
    const token = await tokenFor('reader', { resource: found.resource, scope: 'changeflow:viewer' });
    const client = await mcpClient(token.access_token);
    try {
      const { tools } = await client.listTools();
      const names = tools.map((t) => t.name);
      assert.ok(names.includes('get_change_status'));
      assert.ok(!names.includes('create_change_request'), names.join(', '));
      const refused = await client
        .callTool({ name: 'create_change_request', arguments: { title: 'x' } })
        .then(
          (result) => ({ result }),
          (error) => ({ error }),
        );
      // Not listed, and a call is the step-up challenge (403 insufficient_scope, below), which
      // the SDK client reports as InsufficientScopeError naming the scopes to ask for.
      assert.ok(
        refused.error instanceof InsufficientScopeError,
        String(refused.error ?? JSON.stringify(refused)),
      );
      assert.match(refused.error.message, /required "changeflow:viewer changeflow:requester"/);
    } finally {
      await client.close();
    }
  });

  test("the MCP SDK's client_credentials provider finds its way from the 401 by itself", async () => {
    const authProvider = new ClientCredentialsProvider({
      clientId: 'agent',
      clientSecret: CLIENTS.agent.secret,
      expectedIssuer: as.issuer,
      scope: 'changeflow:viewer',
    });
    const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { authProvider });
    const client = new Client({ name: 'oauth-sdk-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      const whoami = await client.callTool({ name: 'whoami', arguments: {} });
      assert.equal(whoami.structuredContent.id, 'agent');
      assert.deepEqual(whoami.structuredContent.roles, ['viewer']);
      // The token the SDK obtained names this resource (it sent resource=<metadata.resource>).
      const [, payload] = authProvider.tokens().access_token.split('.');
      assert.equal(JSON.parse(Buffer.from(payload, 'base64url')).aud, found.resource ?? `${base}/mcp`);
    } finally {
      await client.close();
    }
  });

  test('a tool beyond the scopes is a 403 naming the scope to ask for; with it, the call succeeds', async () => {
    // By hand: the SDK 1.x client re-authorizes on this 403, but its client_credentials path asks
    // for its configured scope again rather than the challenge's (fetchToken reads clientMetadata.scope).
    const call = (accessToken) =>
      fetch(`${base}/mcp`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2025-06-18',
          authorization: `Bearer ${accessToken}`,
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 7,
          method: 'tools/call',
          params: {
            name: 'create_change_request',
            arguments: {
              input: {
                title: 'Renew the API gateway certificate',
                description: 'After a step-up to changeflow:requester',
                impact: 'LOW',
                urgency: 'LOW',
                affectedServices: ['gateway'],
              },
            },
          },
        }),
      });
    const narrow = await tokenFor('agent', { resource: found.resource, scope: 'changeflow:viewer' });
    const refused = await call(narrow.access_token);
    assert.equal(refused.status, 403);
    const challenge = challengeParams(refused.headers.get('www-authenticate'));
    assert.equal(challenge.error, 'insufficient_scope');
    assert.equal(challenge.scope, 'changeflow:viewer changeflow:requester');
    assert.equal(challenge.resource_metadata, `${base}/.well-known/oauth-protected-resource/mcp`);
    assert.equal((await refused.json()).error.data.code, 'FORBIDDEN');

    const wider = await tokenFor('agent', { resource: found.resource, scope: challenge.scope });
    const served = await call(wider.access_token);
    assert.equal(served.status, 200);
    const { result } = await served.json();
    assert.equal(result.isError, undefined, JSON.stringify(result));
    assert.equal(result.structuredContent.status, 'DRAFT');
  });

  test('outside development: MCP_RESOURCE_URL is the audience at /mcp, JWT_AUDIENCE at /graphql', async () => {
    const resource = 'https://changeflow.example.test/mcp';
    const api = 'https://api.changeflow.example.test/';
    const staging = {
      ENVIRONMENT: 'staging',
      JWT_SECRET: '',
      JWT_JWKS_URL: `${as.issuer}/jwks`,
      JWT_ISSUER: as.issuer,
      JWT_AUDIENCE: api,
    };
    const unset = startChangeFlow(join(dir, 'staging-unset.sqlite'), staging);
    try {
      const { base: url } = await unset.ready;
      assert.match(unset.output(), /MCP endpoint .*not served: set MCP_RESOURCE_URL/);
      const res = await postMcp(url, null);
      assert.equal(res.status, 503);
      assert.deepEqual((await res.json()).error.data, {
        code: 'CONFIG_INVALID',
        variables: ['MCP_RESOURCE_URL'],
      });
    } finally {
      await unset.stop();
    }

    const set = startChangeFlow(join(dir, 'staging.sqlite'), { ...staging, MCP_RESOURCE_URL: resource });
    try {
      const { base: url } = await set.ready;
      assert.match(
        set.output(),
        /MCP endpoint .*\(OAuth resource https:\/\/changeflow\.example\.test\/mcp\)/,
      );
      const metadata = await (await fetch(`${url}/.well-known/oauth-protected-resource/mcp`)).json();
      assert.equal(metadata.resource, resource);
      assert.deepEqual(metadata.authorization_servers, [as.issuer]);
      assert.equal(metadata.resource_documentation, 'https://changeflow.example.test/docs/mcp');
      assert.equal((await fetch(`${url}/docs/mcp`)).status, 200);

      const forMcp = (await tokenFor('agent', { resource, scope: 'changeflow:viewer' })).access_token;
      const forApi = (await tokenFor('agent', { resource: api, scope: 'changeflow:viewer' })).access_token;
      // The address the request happened to use is not the resource: only MCP_RESOURCE_URL is.
      const forLoopback = (await tokenFor('agent', { resource: `${url}/mcp`, scope: 'changeflow:viewer' }))
        .access_token;
      assert.equal((await postMcp(url, forMcp)).status, 200);
      for (const token of [forApi, forLoopback]) {
        const res = await postMcp(url, token);
        assert.equal(res.status, 401);
        assert.equal((await res.json()).error.data.code, 'UNAUTHENTICATED');
      }
      const me = async (token) =>
        fetch(`${url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: '{ me { id roles } }' }),
        });
      const answer = await me(forApi);
      assert.equal(answer.status, 200);
      assert.deepEqual((await answer.json()).data.me, { id: 'agent', roles: ['viewer'] });
      assert.equal((await me(forMcp)).status, 401);
    } finally {
      await set.stop();
    }
  });
});

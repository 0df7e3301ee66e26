// The stdio bridge against a real local ChangeFlow (`wrangler dev` on a free loopback port, with
// its own throwaway D1), driven by the official SDK client over stdio as a desktop client would.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { committedPages } from '../../scripts/buildMcpApps.mjs';
import { migrateLocal, startLocalServer } from '../../scripts/localServer.mjs';
import { signDevToken } from '../../src/runtime/node/devVars.mjs';

const SECRET = 'node-test-secret-0123456789abcdef0123456789';
const persistTo = mkdtempSync(join(tmpdir(), 'changeflow-bridge-'));
let server;
let client;
let modern;

before(async () => {
  migrateLocal({ persistTo, quiet: true });
  server = await startLocalServer({ persistTo, vars: { JWT_SECRET: SECRET } });
  const token = await signDevToken({ secret: SECRET, sub: 'rita', tenant: 'bridge', roles: ['requester'] });
  client = await connectBridge(token, 'legacy');
  modern = await connectBridge(token, 'auto');
});

/** A desktop client on the bridge, opening with the 2025 handshake or by server/discover. */
async function connectBridge(token, mode) {
  const c = new Client({ name: 'bridge-test', version: '1.0.0' }, { versionNegotiation: { mode } });
  await c.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: ['scripts/mcpBridge.mjs', '--url', server.baseUrl, '--token', token],
      stderr: 'pipe',
    }),
  );
  return c;
}

after(async () => {
  await client?.close();
  await modern?.close();
  server?.stop();
  rmSync(persistTo, { recursive: true, force: true });
});

test('speaks both protocol eras to desktop clients', () => {
  assert.equal(client.getProtocolEra(), 'legacy');
  assert.equal(modern.getProtocolEra(), 'modern');
});

test('serves a 2026-07-28 client the same tools and results', async () => {
  const { tools } = await modern.listTools();
  assert.deepEqual(
    tools.map((t) => t.name),
    (await client.listTools()).tools.map((t) => t.name),
  );
  const result = await modern.callTool({
    name: 'get_change_status',
    arguments: { id: 'CHG-20200101-NOPE00' },
  });
  assert.equal(result.isError, true);
  assert.match(result.content[0].text, /CHANGE_NOT_FOUND/);
});

test('asks for the toolsets it is given, and only offers those', async () => {
  const token = await signDevToken({ secret: SECRET, sub: 'rita', tenant: 'bridge', roles: ['requester'] });
  const c = new Client({ name: 'bridge-test', version: '1.0.0' });
  await c.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [
        'scripts/mcpBridge.mjs',
        '--url',
        server.baseUrl,
        '--token',
        token,
        '--toolsets',
        'changes+readonly',
      ],
      stderr: 'pipe',
    }),
  );
  try {
    const { tools } = await c.listTools();
    assert.ok(tools.length > 0);
    assert.ok(
      tools.every((t) => t.annotations?.readOnlyHint === true),
      'read-only offers reads only',
    );
    assert.ok(!tools.some((t) => t.name === 'create_change_request'));
  } finally {
    await c.close();
  }
});

test('lists the tools the caller may use, as the HTTP endpoint does', async () => {
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  assert.ok(names.includes('create_change_request'));
  assert.ok(names.includes('get_change_status'));
  assert.ok(!names.includes('approve_change'), 'a requester is not shown approve_change');
});

test('creates a change and reads it back through the bridge', async () => {
  const created = await client.callTool({
    name: 'create_change_request',
    arguments: {
      input: {
        title: 'Rotate API keys',
        description: 'Quarterly rotation',
        impact: 'LOW',
        urgency: 'LOW',
        affectedServices: ['api'],
      },
    },
  });
  assert.equal(created.isError, undefined);
  assert.equal(created.structuredContent.status, 'DRAFT');
  const read = await client.callTool({
    name: 'get_change_status',
    arguments: { id: created.structuredContent.id },
  });
  assert.equal(read.structuredContent.title, 'Rotate API keys');
});

test('reads the approval card from the Worker’s static assets, which are not served by URL', async () => {
  // The Worker does not carry the page in its script: resources/read fetches it from env.ASSETS.
  const { contents } = await modern.readResource({ uri: 'ui://changeflow/approval-card' });
  const card = committedPages().find((p) => p.name === 'approval-card');
  assert.equal(contents[0].text, card?.html, 'the page built from src/mcp/ui/, byte for byte');
  // A page meant for a host's sandboxed frame is not also a page on our origin.
  for (const path of ['/mcp-apps/approval-card', '/mcp-apps/approval-card.html', '/mcp-apps/']) {
    const res = await fetch(`${server.baseUrl}${path}`);
    const body = await res.text();
    assert.equal(res.status, 404, `${path}: ${body.slice(0, 200)}`);
    assert.doesNotMatch(body, /<!doctype html>/i, path);
  }
});

test('passes domain errors through as tool errors an agent can act on', async () => {
  const result = await client.callTool({
    name: 'get_change_status',
    arguments: { id: 'CHG-20200101-NOPE00' },
  });
  assert.equal(result.isError, true);
  assert.match(result.content[0].text, /CHANGE_NOT_FOUND/);
});

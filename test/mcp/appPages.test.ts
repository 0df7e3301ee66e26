import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../src/domain/principal';
import { type AppPages, assetPages, MCP_APPS } from '../../src/mcp/apps';
import { buildCatalog } from '../../src/mcp/catalog';
import { createMcpEndpoint } from '../../src/mcp/http';
import { parseSelection } from '../../src/mcp/toolsets';
import { schema } from '../../src/schema';
import { APPROVAL_CARD_URI } from '../../src/schema/mcpApps';

/**
 * Where the MCP Apps' pages come from (src/mcp/apps.ts): a Worker reads them from its static
 * assets (public/mcp-apps/, built by scripts/buildAssets.mjs) instead of carrying them in its
 * script. Reading the card end to end: apps.test.ts here, and over `wrangler dev` with the URL
 * refused from outside in test/node/mcpBridge.test.mjs; the Node runtime's bundled pages in
 * test/node/nodeServer.test.mjs.
 */

const card = MCP_APPS.find((a) => a.uri === APPROVAL_CARD_URI);
if (!card) throw new Error('no approval card');

/** A stand-in for the ASSETS binding that answers `status` and counts what it was asked. */
function assets(status: number, body = '<!doctype html><p>card</p>') {
  const asked: string[] = [];
  const fetcher = {
    fetch: async (request: Request) => {
      asked.push(new URL(request.url).pathname);
      return new Response(status === 200 ? body : 'Not Found', { status });
    },
  } as unknown as Fetcher;
  return { fetcher, asked };
}

describe('assetPages', () => {
  it('reads the page from the binding at its extensionless path', async () => {
    const page = await assetPages((env as unknown as { ASSETS: Fetcher }).ASSETS)(card);
    expect(page).toMatch(/^<!doctype html>/i);
    expect(page).toContain('ChangeFlow approval card');
  });

  it('reads a page once per isolate', async () => {
    const one = { ...card, name: 'once-only' };
    const { fetcher, asked } = assets(200);
    const pages = assetPages(fetcher);
    expect(await pages(one)).toBe('<!doctype html><p>card</p>');
    expect(await pages(one)).toBe('<!doctype html><p>card</p>');
    expect(asked).toEqual(['/mcp-apps/once-only']);
  });

  it('answers null for a page that is not deployed, and looks again next time', async () => {
    const missing = { ...card, name: 'not-built-yet' };
    const { fetcher, asked } = assets(404);
    const pages = assetPages(fetcher);
    expect(await pages(missing)).toBeNull();
    expect(await pages(missing)).toBeNull();
    expect(asked).toEqual(['/mcp-apps/not-built-yet', '/mcp-apps/not-built-yet']);
  });

  it('answers null when the binding throws', async () => {
    const broken = { fetch: async () => Promise.reject(new Error('binding down')) } as unknown as Fetcher;
    expect(await assetPages(broken)({ ...card, name: 'broken-binding' })).toBeNull();
  });
});

describe('resources/read of an App whose page is missing', () => {
  const endpoint = createMcpEndpoint(buildCatalog(schema), 'test');
  const principal: Principal = {
    id: 'vera',
    tenantId: 'pages',
    roles: ['viewer'],
    kind: 'user',
    name: null,
    email: null,
  };

  async function read(appPages: AppPages | null) {
    const chosen = parseSelection(null, new Headers());
    if ('error' in chosen) throw new Error(chosen.error);
    const res = await endpoint(
      new Request('http://cf.test/mcp', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2025-11-25',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'resources/read',
          params: { uri: APPROVAL_CARD_URI },
        }),
      }),
      {
        auth: { principal },
        selection: chosen.selection,
        resource: 'http://cf.test/mcp',
        execute: async () => {
          throw new Error('no GraphQL in this test');
        },
        appPages,
      },
    );
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it('is a JSON-RPC error that says the page was not deployed, not a broken answer', async () => {
    for (const pages of [null, async () => null]) {
      const { status, body } = await read(pages);
      expect(status).toBe(200);
      expect(body.result).toBeUndefined();
      expect(body.error).toMatchObject({
        code: -32603,
        message: `${APPROVAL_CARD_URI} is not available on this server: its page was not deployed with it`,
      });
    }
  });

  it('serves what the runtime gives', async () => {
    const { body } = await read(async () => '<!doctype html><p>from the runtime</p>');
    expect(body.result).toMatchObject({
      contents: [{ uri: APPROVAL_CARD_URI, text: '<!doctype html><p>from the runtime</p>' }],
    });
  });
});

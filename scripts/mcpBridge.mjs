#!/usr/bin/env node
// changeflow-mcp: serves ChangeFlow's MCP tools over stdio for desktop clients that only speak
// stdio, by forwarding every request to a running ChangeFlow's /mcp endpoint.
//
//   node scripts/mcpBridge.mjs --url http://localhost:8787 --token <jwt> [--toolsets workflows+readonly]
//   (or CHANGEFLOW_URL / CHANGEFLOW_TOKEN / CHANGEFLOW_TOOLSETS in the environment)
import { parseArgs } from 'node:util';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Server } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.CHANGEFLOW_URL ?? 'http://localhost:8787' },
    token: { type: 'string', default: process.env.CHANGEFLOW_TOKEN },
    // The words of /mcp/<toolsets> (docs/mcp.md#toolsets): the server checks them.
    toolsets: { type: 'string', default: process.env.CHANGEFLOW_TOOLSETS },
  },
});

if (!values.token) {
  console.error('changeflow-mcp: pass --token <jwt> or set CHANGEFLOW_TOKEN');
  process.exit(2);
}

const endpoint = new URL(
  values.toolsets ? `/mcp/${encodeURIComponent(values.toolsets).replaceAll('%2B', '+')}` : '/mcp',
  values.url,
);
// Upstream, the current revision (2026-07-28, found by server/discover), or the 2025 handshake
// against a server that predates it.
const upstream = new Client(
  { name: 'changeflow-mcp-bridge', version: '1.0.0' },
  { versionNegotiation: { mode: 'auto' } },
);
try {
  await upstream.connect(
    new StreamableHTTPClientTransport(endpoint, {
      requestInit: { headers: { authorization: `Bearer ${values.token}` } },
    }),
  );
} catch (e) {
  // stdout belongs to the protocol; diagnostics go to stderr.
  console.error(`changeflow-mcp: cannot reach ${endpoint}: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
}

const remote = upstream.getServerVersion();

/**
 * One server per stdio connection, in whichever era the desktop client opens with (2026-07-28 or
 * the 2025 handshake). Each request is forwarded as is; the upstream result (or JSON-RPC error)
 * comes back unchanged.
 */
function bridge() {
  const server = new Server(
    { name: remote?.name ?? 'changeflow', title: remote?.title, version: remote?.version ?? '0.0.0' },
    {
      capabilities: { tools: {}, resources: {}, prompts: {} },
      instructions: upstream.getInstructions(),
    },
  );
  server.setRequestHandler('tools/list', (req) => upstream.listTools(req.params));
  server.setRequestHandler('tools/call', (req) => upstream.callTool(req.params));
  server.setRequestHandler('resources/list', (req) => upstream.listResources(req.params));
  server.setRequestHandler('resources/templates/list', (req) => upstream.listResourceTemplates(req.params));
  server.setRequestHandler('resources/read', (req) => upstream.readResource(req.params));
  server.setRequestHandler('prompts/list', (req) => upstream.listPrompts(req.params));
  server.setRequestHandler('prompts/get', (req) => upstream.getPrompt(req.params));
  return server;
}

serveStdio(bridge);

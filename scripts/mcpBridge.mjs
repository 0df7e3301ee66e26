#!/usr/bin/env node
// changeflow-mcp: serves ChangeFlow's MCP tools over stdio for desktop clients that only speak
// stdio, by forwarding every request to a running ChangeFlow's /mcp endpoint.
//
//   node scripts/mcpBridge.mjs --url http://localhost:8787 --token <jwt>
//   (or CHANGEFLOW_URL / CHANGEFLOW_TOKEN in the environment)
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import {
  CallToolRequestSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.CHANGEFLOW_URL ?? 'http://localhost:8787' },
    token: { type: 'string', default: process.env.CHANGEFLOW_TOKEN },
  },
});

if (!values.token) {
  console.error('changeflow-mcp: pass --token <jwt> or set CHANGEFLOW_TOKEN');
  process.exit(2);
}

const endpoint = new URL('/mcp', values.url);
const upstream = new Client({ name: 'changeflow-mcp-bridge', version: '1.0.0' });
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
const server = new Server(
  { name: remote?.name ?? 'changeflow', title: remote?.title, version: remote?.version ?? '0.0.0' },
  {
    capabilities: { tools: {}, resources: {}, prompts: {} },
    instructions: upstream.getInstructions(),
  },
);

// Each request is forwarded as is; the upstream result (or JSON-RPC error) comes back unchanged.
server.setRequestHandler(ListToolsRequestSchema, (req) => upstream.listTools(req.params));
server.setRequestHandler(CallToolRequestSchema, (req) => upstream.callTool(req.params));
server.setRequestHandler(ListResourcesRequestSchema, (req) => upstream.listResources(req.params));
server.setRequestHandler(ListResourceTemplatesRequestSchema, (req) =>
  upstream.listResourceTemplates(req.params),
);
server.setRequestHandler(ReadResourceRequestSchema, (req) => upstream.readResource(req.params));
server.setRequestHandler(ListPromptsRequestSchema, (req) => upstream.listPrompts(req.params));
server.setRequestHandler(GetPromptRequestSchema, (req) => upstream.getPrompt(req.params));

await server.connect(new StdioServerTransport());

import { exports } from 'cloudflare:workers';
import { type CallToolResult, Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { CfWorkerJsonSchemaValidator } from '@modelcontextprotocol/client/validators/cf-worker';

export const MCP_URL = 'http://cf.test/mcp';
const ORIGIN = 'http://cf.test';

/** The worker under test as the client's fetch: every MCP request goes through the real routes. */
const workerFetch = ((input: RequestInfo | URL, init?: RequestInit) =>
  exports.default.fetch(new Request(input, init))) as typeof fetch;

/**
 * An official SDK client connected to /mcp with a bearer token. It speaks 2026-07-28 (found by
 * `server/discover`) unless told to use the 2025 handshake (`era: 'legacy'`, optionally pinned
 * to an older `protocolVersion`).
 */
export async function mcpClient(
  token: string,
  opts: {
    era?: 'modern' | 'legacy';
    protocolVersion?: string;
    path?: string;
    /** Declares the elicitation capability and answers each form with this (the user's reply). */
    elicit?: (message: string) => {
      action: 'accept' | 'decline' | 'cancel';
      content?: Record<string, boolean>;
    };
  } = {},
): Promise<Client> {
  const legacy = opts.era === 'legacy' || opts.protocolVersion !== undefined;
  // Every tool the caller's roles allow, unless a test asks for a toolset (/mcp alone is `changes`).
  const transport = new StreamableHTTPClientTransport(new URL(opts.path ?? '/mcp/all', ORIGIN), {
    fetch: workerFetch,
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  const client = new Client(
    { name: 'changeflow-tests', version: '1.0.0' },
    {
      jsonSchemaValidator: new CfWorkerJsonSchemaValidator(),
      versionNegotiation: { mode: legacy ? 'legacy' : { pin: '2026-07-28' } },
      ...(opts.elicit ? { capabilities: { elicitation: { form: {} } } } : {}),
    },
  );
  const { elicit } = opts;
  if (elicit) {
    client.setRequestHandler('elicitation/create', async (request) => elicit(request.params.message));
  }
  if (opts.protocolVersion) {
    // The SDK client always offers its latest version; pin an older one to test negotiation.
    const original = transport.send.bind(transport);
    transport.send = (message, options) => {
      if ('method' in message && message.method === 'initialize' && message.params) {
        (message.params as { protocolVersion: string }).protocolVersion = opts.protocolVersion as string;
      }
      return original(message, options);
    };
  }
  await client.connect(transport);
  // The SDK validates structuredContent against a tool's outputSchema only for tools it has
  // listed; list them up front so that every call in every test is checked.
  await client.listTools();
  return client;
}

/** Calls a tool and returns its result, typed loosely for assertions. */
export async function callTool(client: Client, name: string, args: Record<string, unknown> = {}) {
  return (await client.callTool({ name, arguments: args })) as CallToolResult & {
    structuredContent?: Record<string, unknown>;
  };
}

/** The `{ error: { code, message } }` an isError result carries as text. */
export function toolError(result: CallToolResult): { code: string; message: string; [k: string]: unknown } {
  const first = result.content[0];
  if (!result.isError || first?.type !== 'text')
    throw new Error(`expected an error result, got ${JSON.stringify(result)}`);
  return (JSON.parse(first.text) as { error: { code: string; message: string } }).error;
}

/** Posts a raw JSON-RPC body to /mcp, or another path of it (for malformed-request tests). */
export async function rawMcp(body: string, headers: Record<string, string> = {}, path = '/mcp') {
  return exports.default.fetch(new URL(path, ORIGIN), {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body,
  });
}

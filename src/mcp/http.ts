import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { ROLES } from '../resolvers/domain';
import type { AuthResult } from '../server/authenticate';
import type { McpCatalog } from './catalog';
import { createMcpServer, type ExecuteOperation } from './server';

export const PROTECTED_RESOURCE_PATH = '/.well-known/oauth-protected-resource';

export interface McpRequestDeps {
  auth: AuthResult;
  corsOrigins: string[];
  issuer: string | null;
  execute: ExecuteOperation;
}

const rpcError = (status: number, code: number, message: string, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });

/** RFC 9728 metadata: which resource this is and how to present a token for it. */
export function protectedResourceMetadata(request: Request, issuer: string | null): Response {
  const origin = new URL(request.url).origin;
  return Response.json(
    {
      resource: `${origin}/mcp`,
      resource_name: 'ChangeFlow MCP',
      ...(issuer ? { authorization_servers: [issuer] } : {}),
      bearer_methods_supported: ['header'],
      scopes_supported: [...ROLES],
      resource_documentation: `${origin}/schema.graphql`,
    },
    { headers: { 'cache-control': 'public, max-age=3600' } },
  );
}

/**
 * The transport insists on `Accept: application/json, text/event-stream`. We answer JSON unless
 * the client asked for SSE alone, and accept a client that names only one of the two.
 */
function negotiate(request: Request): { request: Request; json: boolean } {
  const accept = request.headers.get('accept') ?? '';
  const wantsJson = accept.includes('application/json') || accept.includes('*/*') || accept === '';
  const wantsSse = accept.includes('text/event-stream');
  const headers = new Headers(request.headers);
  headers.set('accept', 'application/json, text/event-stream');
  return { request: new Request(request, { headers }), json: wantsJson || !wantsSse };
}

/** Serves MCP Streamable HTTP, stateless: one server and transport per POST. */
export function createMcpEndpoint(catalog: McpCatalog, version: string) {
  return async function handleMcp(request: Request, deps: McpRequestDeps): Promise<Response> {
    if (request.method !== 'POST') {
      return rpcError(
        405,
        -32000,
        'Method not allowed: this MCP server is stateless; POST JSON-RPC to /mcp',
        {
          allow: 'POST',
        },
      );
    }
    const origin = request.headers.get('origin');
    if (origin && !deps.corsOrigins.includes('*') && !deps.corsOrigins.includes(origin)) {
      return rpcError(403, -32000, `Origin ${origin} is not allowed`);
    }
    if (!deps.auth.principal) {
      const metadata = `${new URL(request.url).origin}${PROTECTED_RESOURCE_PATH}`;
      const problem = deps.auth.error ? `, error="invalid_token"` : '';
      return rpcError(
        401,
        -32001,
        deps.auth.error?.message ?? 'Authentication required: send a Bearer token',
        {
          'www-authenticate': `Bearer resource_metadata="${metadata}"${problem}`,
        },
      );
    }
    const negotiated = negotiate(request);
    const server = createMcpServer({
      catalog,
      principal: deps.auth.principal,
      execute: deps.execute,
      version,
    });
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: negotiated.json,
    });
    await server.connect(transport);
    return transport.handleRequest(negotiated.request);
  };
}

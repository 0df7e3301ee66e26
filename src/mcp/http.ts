import {
  type AuthInfo,
  createMcpHandler,
  DEFAULT_MAX_REQUEST_BODY_SIZE,
  isJsonContentType,
  isLegacyRequest,
  isSpecType,
  readRequestBody,
  specTypeSchemas,
  WebStandardStreamableHTTPServerTransport,
} from '@modelcontextprotocol/server';
import type { AuthResult } from '../http/authenticate';
import { jsonRpcErrorResponse, RPC_INVALID_REQUEST, RPC_PARSE_ERROR } from '../http/responses';
import { rateLimitHeaders } from '../ratelimit/policy';
import type { Decision } from '../ratelimit/slidingWindow';
import { drainBody } from '../streams';
import type { McpCatalog } from './catalog';
import { mcpAuthChallenge, scopeChallenge } from './oauth';
import { type OriginPolicy, originAllowed } from './origin';
import { createMcpServer, type ExecuteOperation, type McpServerDeps, RATE_LIMITED_RPC_CODE } from './server';
import { legacyTaskProtocol } from './tasks';
import type { ToolSelection } from './toolsets';

export interface McpRequestDeps {
  auth: AuthResult;
  /** The toolsets the request asked for (path or header), and whether it is read-only. */
  selection: ToolSelection;
  /** This resource's URL (src/mcp/oauth.ts): the 401 challenge points at its metadata. */
  resource: string;
  /**
   * Spends `units` more of the caller's own limit (the HTTP request already spent one): a
   * 2025-03-26 batch of N messages costs N. Null when the runtime does not limit.
   */
  chargeCaller?: ((units: number) => Promise<Decision>) | null;
  execute: ExecuteOperation;
  limitTool?: McpServerDeps['limitTool'];
  observeToolCall?: McpServerDeps['observeToolCall'];
  appPages?: McpServerDeps['appPages'];
}

/** The protocol a request without MCP-Protocol-Version is assumed to speak (the transport rules). */
const DEFAULT_PROTOCOL = '2025-03-26';
/** Versions are dates: later ones compare greater. Batches were removed after 2025-03-26. */
const hasBatches = (version: string) => version <= DEFAULT_PROTOCOL;

/**
 * The transport insists on `Accept: application/json, text/event-stream`. We answer JSON unless
 * the client asked for SSE alone, and accept a client that names only one of the two.
 */
function negotiate(request: Request): { request: Request; json: boolean; sse: boolean } {
  const accept = request.headers.get('accept') ?? '';
  const wantsJson = accept.includes('application/json') || accept.includes('*/*') || accept === '';
  const wantsSse = accept.includes('text/event-stream');
  const headers = new Headers(request.headers);
  headers.set('accept', 'application/json, text/event-stream');
  return { request: new Request(request, { headers }), json: wantsJson || !wantsSse, sse: wantsSse };
}

/**
 * The 2025 revision a stateless request speaks: the one its `initialize` asks for, else its
 * MCP-Protocol-Version header, else the transport's default.
 */
function legacyVersion(request: Request, body: unknown): string {
  const message = body as { method?: unknown; params?: { protocolVersion?: unknown } } | null;
  const asked =
    !Array.isArray(body) && message?.method === 'initialize' ? message.params?.protocolVersion : null;
  return typeof asked === 'string'
    ? asked
    : (request.headers.get('mcp-protocol-version') ?? DEFAULT_PROTOCOL);
}

/** A request that asks for progress notifications (`_meta.progressToken`), which only a stream can carry. */
function asksProgress(body: unknown): boolean {
  const meta = (body as { params?: { _meta?: { progressToken?: unknown } } } | null)?.params?._meta;
  return meta?.progressToken !== undefined;
}

/** What is wrong with one message of a POST body, or null when it is a JSON-RPC 2.0 message. */
function problemWith(message: unknown): string | null {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    return 'a JSON-RPC message must be an object';
  }
  const m = message as Record<string, unknown>;
  if (m.jsonrpc !== '2.0') return '"jsonrpc" must be "2.0"';
  if (!('method' in m) && !('result' in m) && !('error' in m)) return 'a request needs a "method"';
  if ('method' in m && typeof m.method !== 'string') return '"method" must be a string';
  if (!isSpecType.JSONRPCMessage(message)) {
    return 'not a valid JSON-RPC 2.0 request, notification or response';
  }
  // The SDK answers initialize itself and parses its params inside the handler, so bad params
  // would come back as an internal error (-32603); check them here instead.
  if (m.method === 'initialize') {
    const parsed = specTypeSchemas.InitializeRequest['~standard'].validate(message);
    const issue = parsed.issues?.[0];
    if (issue) {
      const path = (issue.path ?? []).map((p) => (typeof p === 'object' ? String(p.key) : String(p)));
      return `invalid "initialize" params: ${path.join('.')}: ${issue.message}`;
    }
  }
  return null;
}

/**
 * Reads and checks the body before the SDK transport sees it, so that each kind of bad JSON-RPC
 * gets its own code (the transport answers -32700 for anything it cannot use): -32700 for text
 * that is not JSON, -32600 for JSON that is not a JSON-RPC message. Batches exist only in
 * 2025-03-26 (the version assumed without an MCP-Protocol-Version header); later versions removed
 * them. Null when the transport should answer itself (a body not declared as JSON: 415).
 */
async function readJsonRpc(request: Request): Promise<{ body: unknown } | { error: Response } | null> {
  if (!isJsonContentType(request.headers.get('content-type'))) return null;
  const read = await readRequestBody(request, DEFAULT_MAX_REQUEST_BODY_SIZE);
  if (read.tooLarge) {
    return {
      error: jsonRpcErrorResponse(
        'PAYLOAD_TOO_LARGE',
        `Request body too large: the limit is ${DEFAULT_MAX_REQUEST_BODY_SIZE} bytes`,
        {
          limitBytes: DEFAULT_MAX_REQUEST_BODY_SIZE,
        },
      ),
    };
  }
  let body: unknown;
  try {
    body = JSON.parse(read.text);
  } catch {
    return {
      error: jsonRpcErrorResponse(
        'BAD_REQUEST',
        'Parse error: the body is not valid JSON',
        {},
        {},
        RPC_PARSE_ERROR,
      ),
    };
  }
  const invalid = (why: string) => ({
    error: jsonRpcErrorResponse('BAD_REQUEST', `Invalid Request: ${why}`, {}, {}, RPC_INVALID_REQUEST),
  });
  const noBatches = (version: string) =>
    invalid(`JSON-RPC batches are not part of MCP ${version}; send one message per request`);
  if (Array.isArray(body)) {
    const version = request.headers.get('mcp-protocol-version') ?? DEFAULT_PROTOCOL;
    if (!hasBatches(version)) return noBatches(version);
    if (body.length === 0) return invalid('an empty batch');
  }
  for (const message of Array.isArray(body) ? body : [body]) {
    const problem = problemWith(message);
    if (problem) return invalid(problem);
  }
  // Without the header a batch is taken for 2025-03-26, unless it says otherwise itself: an
  // initialize inside it that asks for a later protocol asks for one without batches.
  if (Array.isArray(body) && !request.headers.has('mcp-protocol-version')) {
    for (const message of body as { method?: unknown; params?: { protocolVersion?: unknown } }[]) {
      const asked = message.method === 'initialize' ? message.params?.protocolVersion : undefined;
      if (typeof asked === 'string' && !hasBatches(asked)) return noBatches(asked);
    }
  }
  return { body };
}

/**
 * Every message of a batch counts against the caller's limit as a request of its own would (the
 * HTTP request spent one already): all of them fit, or the batch is refused with 429.
 */
async function chargeBatch(size: number, deps: McpRequestDeps): Promise<Response | null> {
  if (size <= 1 || !deps.chargeCaller) return null;
  const d = await deps.chargeCaller(size - 1);
  if (d.allowed) return null;
  return jsonRpcErrorResponse(
    'RATE_LIMITED',
    `Rate limit exceeded: a batch of ${size} messages counts as ${size} requests (limit ${d.limit} per minute); ` +
      `retry after ${d.retryAfterSeconds} s, or send fewer messages at a time`,
    { retryAfterSeconds: d.retryAfterSeconds },
    rateLimitHeaders(d),
    RATE_LIMITED_RPC_CODE,
  );
}

/** A batch is answered with an array, even a batch of one (the transport unwraps those). */
async function asBatchAnswer(response: Response): Promise<Response> {
  if (response.status !== 200 || !response.headers.get('content-type')?.includes('application/json')) {
    return response;
  }
  const answer: unknown = await response.json();
  return new Response(JSON.stringify(Array.isArray(answer) ? answer : [answer]), response);
}

/**
 * First of all, whatever the method: a browser page from elsewhere gets nothing but this 403
 * (DNS-rebinding protection). Null when the Origin is allowed (or absent: not a browser).
 */
export function mcpOriginRefusal(request: Request, origins: OriginPolicy): Response | null {
  const origin = request.headers.get('origin');
  if (originAllowed(origin, origins)) return null;
  return jsonRpcErrorResponse(
    'ORIGIN_NOT_ALLOWED',
    `Origin ${origin} is not allowed to call this MCP endpoint (allowed: PUBLIC_URL and CORS_ORIGINS${
      origins.environment === 'development' ? ', and http://localhost, 127.0.0.1 or [::1] on any port' : ''
    })`,
    { origin },
  );
}

/** The per-request dependencies ride in `authInfo.extra`, the SDK's pass-through to the factory. */
const DEPS = 'changeflow.deps';

function depsOf(authInfo: AuthInfo | undefined): McpServerDeps {
  const deps = authInfo?.extra?.[DEPS] as McpServerDeps | undefined;
  // Only handleMcp calls the handler, and it always passes them.
  if (!deps) throw new Error('MCP request without its dependencies');
  return deps;
}

/**
 * Serves MCP over Streamable HTTP, statelessly, in both protocol eras: 2026-07-28 requests (the
 * `_meta` envelope) go to the SDK's per-request handler, 2025-era ones to a stateless transport of
 * their own (so that a 2025 client that accepts JSON gets JSON, and 2025-03-26 batches keep
 * working). One server per request either way, built from the same factory.
 */
export function createMcpEndpoint(catalog: McpCatalog, version: string) {
  const modern = createMcpHandler(({ authInfo }) => createMcpServer(depsOf(authInfo)), {
    legacy: 'reject',
    maxRequestBodySize: DEFAULT_MAX_REQUEST_BODY_SIZE,
  });
  return async function handleMcp(request: Request, deps: McpRequestDeps): Promise<Response> {
    // The route table checked the Origin (mcpOriginRefusal, before anything else) and the method.
    const { principal } = deps.auth;
    if (!principal) return mcpAuthChallenge(deps.resource, deps.auth.error);
    const negotiated = negotiate(request);
    const checked = await readJsonRpc(negotiated.request);
    if (checked && 'error' in checked) return checked.error;
    const stepUp = checked && scopeChallenge(checked.body, principal, catalog, deps.resource);
    if (stepUp) return stepUp;
    if (checked && Array.isArray(checked.body)) {
      const refused = await chargeBatch(checked.body.length, deps);
      if (refused) return refused;
    }
    const serverDeps: McpServerDeps = {
      catalog,
      principal,
      selection: deps.selection,
      execute: deps.execute,
      limitTool: deps.limitTool,
      observeToolCall: deps.observeToolCall,
      appPages: deps.appPages,
      version,
    };
    let response: Response;
    if (checked && !(await isLegacyRequest(negotiated.request, checked.body))) {
      const authInfo: AuthInfo = {
        token: '',
        clientId: principal.id,
        scopes: [...principal.roles],
        extra: { [DEPS]: { ...serverDeps, tasks: 'extension' } satisfies McpServerDeps },
      };
      response = await modern.fetch(negotiated.request, { parsedBody: checked.body, authInfo });
    } else {
      const server = createMcpServer({
        ...serverDeps,
        tasks: legacyTaskProtocol(legacyVersion(negotiated.request, checked?.body)),
      });
      const transport = new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: undefined,
        // JSON unless the client wants progress and accepts a stream to carry it.
        enableJsonResponse: negotiated.json && !(negotiated.sse && asksProgress(checked?.body)),
      });
      await server.connect(transport);
      response = await transport.handleRequest(
        negotiated.request,
        checked ? { parsedBody: checked.body } : undefined,
      );
    }
    // The transport may answer (415, 406, ...) without reading the body; the caller's drain cannot
    // see it (the negotiated request took the stream over), so take the rest here, or that early
    // answer breaks the connection (see drainBody in src/streams.ts).
    await drainBody(negotiated.request);
    return checked && Array.isArray(checked.body) ? asBatchAnswer(response) : response;
  };
}

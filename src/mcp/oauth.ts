import { BASE_SCOPE, SUPPORTED_SCOPES, scopeOf } from '../auth/scopes';
import type { Config, VariableName } from '../config';
import type { Principal } from '../domain/principal';
import { ROLES } from '../domain/types';
import type { AppError } from '../errors';
import { jsonErrorResponse, jsonRpcErrorResponse } from '../http/responses';
import { API_CSP } from '../http/securityHeaders';
import type { McpCatalog } from './catalog';
import { scopesAllow } from './visibility';

/**
 * /mcp as an OAuth 2.1 protected resource (the MCP authorization spec): RFC 9728 metadata that
 * names this resource, its authorization server and the scopes it checks; RFC 8707 resource
 * indicators (a token must name this resource in `aud`, checked in src/auth/jwt.ts); and the
 * RFC 6750 challenges that lead a client from a 401 to all of it.
 */

export const PROTECTED_RESOURCE_PATH = '/.well-known/oauth-protected-resource';
/** The human-readable page the metadata's `resource_documentation` points at. */
export const MCP_DOCUMENTATION_PATH = '/docs/mcp';

/**
 * This resource's identifier: MCP_RESOURCE_URL, or in development without it the request's
 * origin + /mcp. Null outside development when it is not set (mcpConfigRefusal answers then).
 */
export function mcpResourceUrl(request: Request, config: Config): string | null {
  if (config.mcpResourceUrl !== null) return config.mcpResourceUrl;
  return config.environment === 'development' ? `${new URL(request.url).origin}/mcp` : null;
}

/**
 * Where the metadata of a resource is (RFC 9728 §3.1): the well-known path inserted between the
 * resource's origin and its path, so `https://x/mcp` has `https://x/.well-known/oauth-protected-resource/mcp`.
 */
export function metadataUrl(resource: string): string {
  const { origin, pathname } = new URL(resource);
  return `${origin}${PROTECTED_RESOURCE_PATH}${pathname === '/' ? '' : pathname}`;
}

/** JWT_ISSUER when it is an http(s) URL, the only form of issuer a client can discover. */
function issuerUrl(config: Config): string | null {
  const { issuer } = config.jwt;
  if (issuer === null) return null;
  try {
    const u = new URL(issuer);
    return u.protocol === 'https:' || u.protocol === 'http:' ? issuer : null;
  } catch {
    return null;
  }
}

/** What is missing for MCP clients outside development, or null: [variable, problem]. */
function missing(config: Config, forMetadata: boolean): [VariableName, string] | null {
  if (config.environment === 'development') return null;
  if (config.mcpResourceUrl === null) {
    return [
      'MCP_RESOURCE_URL',
      `must be set in ${config.environment} to serve MCP: the URL clients reach /mcp at (e.g. https://changeflow.example.com/mcp), which their tokens must name in "aud"`,
    ];
  }
  if (forMetadata && issuerUrl(config) === null) {
    return [
      'JWT_ISSUER',
      `must be your authorization server's issuer URL in ${config.environment} for the MCP metadata to name it (got ${
        config.jwt.issuer === null ? 'nothing' : JSON.stringify(config.jwt.issuer)
      })`,
    ];
  }
  return null;
}

/** /mcp's guard: 503 CONFIG_INVALID outside development until MCP_RESOURCE_URL is set. */
export function mcpConfigRefusal(config: Config): Response | null {
  const problem = missing(config, false);
  if (!problem) return null;
  const [variable, why] = problem;
  return jsonRpcErrorResponse('CONFIG_INVALID', `Invalid configuration: ${variable} ${why}`, {
    variables: [variable],
  });
}

/**
 * RFC 9728 metadata: which resource this is, who issues tokens for it (JWT_ISSUER, the issuer the
 * JWT verifier trusts) and which scopes it checks (src/auth/scopes.ts). In development without
 * JWT_ISSUER there is no authorization server to name (tokens come from `npm run token`), so the
 * field is left out; elsewhere the metadata is CONFIG_INVALID until it can be complete.
 */
export function protectedResourceMetadata(request: Request, config: Config): Response {
  const problem = missing(config, true);
  if (problem) {
    const [variable, why] = problem;
    return jsonErrorResponse('CONFIG_INVALID', `Invalid configuration: ${variable} ${why}`, {
      variables: [variable],
    });
  }
  const resource = mcpResourceUrl(request, config) as string;
  const issuer = issuerUrl(config);
  return Response.json(
    {
      resource,
      resource_name: 'ChangeFlow MCP',
      ...(issuer ? { authorization_servers: [issuer] } : {}),
      bearer_methods_supported: ['header'],
      scopes_supported: SUPPORTED_SCOPES,
      resource_documentation: `${new URL(resource).origin}${MCP_DOCUMENTATION_PATH}`,
    },
    { headers: { 'cache-control': 'public, max-age=3600' } },
  );
}

/**
 * The answer to a request to /mcp without a usable credential (RFC 6750 §3, MCP authorization):
 * 401 with where the metadata is and the scope to ask for, `error="invalid_token"` when a token
 * was refused; 403 `insufficient_scope` when the token is valid but its scopes grant no role.
 */
export function mcpAuthChallenge(resource: string, error: AppError | null): Response {
  const params = [`resource_metadata="${metadataUrl(resource)}"`, `scope="${BASE_SCOPE}"`];
  if (error?.code === 'FORBIDDEN') {
    return jsonRpcErrorResponse(
      'FORBIDDEN',
      error.message,
      {},
      { 'www-authenticate': `Bearer error="insufficient_scope", ${params.join(', ')}` },
    );
  }
  return jsonRpcErrorResponse(
    'UNAUTHENTICATED',
    error?.message ?? 'Authentication required: send a Bearer token',
    {},
    { 'www-authenticate': `Bearer ${error ? 'error="invalid_token", ' : ''}${params.join(', ')}` },
  );
}

/**
 * Step-up authorization (the MCP spec's scope challenge): a `tools/call` of a tool the caller's
 * roles do not reach, by a token whose roles came from its `scope`, is answered 403
 * `insufficient_scope` naming the scopes it holds plus the least one that reaches the tool, so the
 * client can ask its authorization server for them and retry. Null for anything else (API keys and
 * `roles`-only tokens cannot step up: they get the tool's FORBIDDEN result).
 */
export function scopeChallenge(
  body: unknown,
  principal: Principal,
  catalog: McpCatalog,
  resource: string,
): Response | null {
  if (!principal.scoped || typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  const { method, params } = body as { method?: unknown; params?: { name?: unknown } };
  if (method !== 'tools/call' || typeof params?.name !== 'string') return null;
  const tool = catalog.toolsByName.get(params.name);
  if (!tool || scopesAllow(principal, tool.authScopes)) return null;
  const needed = ROLES.find((role) => scopesAllow({ ...principal, roles: [role] }, tool.authScopes));
  if (!needed) return null;
  const scope = ROLES.filter((r) => r === needed || principal.roles.includes(r))
    .map(scopeOf)
    .join(' ');
  return jsonRpcErrorResponse(
    'FORBIDDEN',
    `${tool.name} needs the ${needed} role, which this token's scopes do not grant: ask the authorization server for ${scopeOf(needed)}`,
    { requiredScope: scopeOf(needed) },
    {
      'www-authenticate': `Bearer error="insufficient_scope", scope="${scope}", resource_metadata="${metadataUrl(resource)}"`,
    },
  );
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/**
 * The metadata's `resource_documentation`: how to connect, for the person setting a client up.
 * Served everywhere (the SDL at /schema.graphql is not, outside development). Static text, no
 * script or style, so the API's CSP fits it.
 */
export function mcpDocumentationPage(request: Request, config: Config): Response {
  const resource = mcpResourceUrl(request, config) ?? `${new URL(request.url).origin}/mcp`;
  const issuer = issuerUrl(config);
  const rows = ROLES.map(
    (r) => `<li><code>changeflow:${r}</code>: the ${r.replace('_', ' ')} role</li>`,
  ).join('\n');
  const page = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>ChangeFlow MCP server</title></head>
<body>
<h1>ChangeFlow MCP server</h1>
<p>MCP (Streamable HTTP) is served at <code>${escapeHtml(resource)}</code>: send
<code>POST</code> with a JSON-RPC body and <code>Authorization: Bearer &lt;token&gt;</code>
(or an API key).</p>
<h2>Authorization</h2>
<p>${
    issuer
      ? `Tokens are issued by <code>${escapeHtml(issuer)}</code>.`
      : 'No authorization server is configured here (JWT_ISSUER); use a token from <code>npm run token</code> or an API key.'
  }
A token must name this resource in <code>aud</code> (RFC 8707: ask for it with
<code>resource=${escapeHtml(resource)}</code>). Its scopes decide its roles:</p>
<ul>
${rows}
</ul>
<p>A token that also carries a <code>roles</code> claim gets only the roles both allow. The
metadata is at <a href="${escapeHtml(metadataUrl(resource))}">${escapeHtml(metadataUrl(resource))}</a>.</p>
</body>
</html>
`;
  return new Response(page, {
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': API_CSP,
      'cache-control': 'public, max-age=3600',
    },
  });
}

/** What one request did, filled in along the way and recorded when it is answered. */
export interface RequestSample {
  route: string;
  status: number;
  durationMs: number;
  /** `extensions.code` of each GraphQL error in the response. */
  errorCodes: string[];
  toolCalls: { tool: string; outcome: 'ok' | 'error' }[];
  /** When the request finished (ms since epoch). */
  at: number;
}

/** Collected while a request runs (the Yoga and MCP layers add to it). */
export interface Observation {
  errorCodes: string[];
  toolCalls: RequestSample['toolCalls'];
}

export const newObservation = (): Observation => ({ errorCodes: [], toolCalls: [] });

/**
 * The routes metrics are labelled with; anything else is `other`, so labels stay bounded. The
 * MCP endpoint's toolset paths (`/mcp/workflows`, ...) are the one endpoint, `/mcp`.
 */
const ROUTES = new Set(['/graphql', '/mcp', '/health', '/metrics', '/schema.graphql', '/dashboard']);
export const routeLabel = (pathname: string): string =>
  ROUTES.has(pathname) ? pathname : pathname.startsWith('/mcp/') ? '/mcp' : 'other';

/**
 * The MCP Apps (`ui://` pages) that tools offer through their `mcp.ui` option. The schema only
 * names them; src/mcp/apps.ts serves their pages.
 */
export const APPROVAL_CARD_URI = 'ui://changeflow/approval-card';

import { RESOURCE_MIME_TYPE } from '@modelcontextprotocol/ext-apps/server';
import { APPROVAL_CARD_URI } from '../schema/mcpApps';
import { APPROVAL_CARD_HTML } from './ui/approvalCard.generated';

/**
 * MCP Apps: `ui://` resources a host renders in a sandboxed frame next to a tool's result (the
 * MCP Apps extension, @modelcontextprotocol/ext-apps). A tool offers one through its schema
 * option `mcp.ui`; the catalog declares it in the tool's `_meta`. The page calls tools back
 * through the host, so every call is the person's own, under every rule a direct call meets.
 */

export interface McpApp {
  uri: `ui://${string}`;
  name: string;
  title: string;
  description: string;
  /** The whole page: self-contained, it fetches nothing (src/mcp/ui/, built by `npm run codegen`). */
  html: string;
}

export const MCP_APPS: readonly McpApp[] = [
  {
    uri: APPROVAL_CARD_URI,
    name: 'approval-card',
    title: 'Approval card',
    description:
      'A change with its risk factors, votes, conflicts and freeze windows, and Approve / Reject buttons ' +
      'that call approve_change and reject_change as you.',
    html: APPROVAL_CARD_HTML,
  },
];

export const APP_MIME_TYPE = RESOURCE_MIME_TYPE;

/**
 * A tool's `_meta` for its App: `ui.resourceUri` only. The flat `ui/resourceUri` key that
 * registerAppTool also writes is deprecated, and would push get_change_status over the per-tool
 * budget (src/mcp/catalog.ts).
 */
export const appToolMeta = (uri: string) => ({ ui: { resourceUri: uri } });

/**
 * The resource's own `_meta.ui`: no `csp` domains, so hosts allow the page no network at all (it
 * needs none), and a border, as a card in the conversation.
 */
export const APP_RESOURCE_META = { ui: { prefersBorder: true } } as const;

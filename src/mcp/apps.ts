import { RESOURCE_MIME_TYPE } from '@modelcontextprotocol/ext-apps/server';
import { APPROVAL_CARD_URI } from '../schema/mcpApps';

/**
 * MCP Apps: `ui://` resources a host renders in a sandboxed frame next to a tool's result (the
 * MCP Apps extension, @modelcontextprotocol/ext-apps). A tool offers one through its schema
 * option `mcp.ui`; the catalog declares it in the tool's `_meta`. The page calls tools back
 * through the host, so every call is the person's own, under every rule a direct call meets.
 */

export interface McpApp {
  uri: `ui://${string}`;
  /**
   * Also its page's name: self-contained HTML that fetches nothing, committed as a module in
   * src/mcp/ui/ (`npm run codegen`) and copied to public/mcp-apps/<name>.html by
   * scripts/buildAssets.mjs (PAGES in scripts/buildMcpApps.mjs).
   */
  name: string;
  title: string;
  description: string;
}

export const MCP_APPS: readonly McpApp[] = [
  {
    uri: APPROVAL_CARD_URI,
    name: 'approval-card',
    title: 'Approval card',
    description:
      'A change with its risk factors, votes, conflicts and freeze windows, and Approve / Reject buttons ' +
      'that call approve_change and reject_change as you.',
  },
];

/**
 * Where a runtime reads an App's page: a Worker from its static assets (assetPages), the Node
 * runtime from the committed modules it bundles. Null when the page is not there.
 */
export type AppPages = (app: McpApp) => Promise<string | null>;

/**
 * Pages read once per isolate: they change only with a deployment, which starts new isolates. The
 * text is kept, not the promise of it: a promise that another request's I/O settles is one
 * workerd may never settle for this request (if that request is cancelled first), so two cold
 * reads at once each fetch the page.
 */
const loaded = new Map<string, string>();

async function readAsset(assets: Fetcher, name: string): Promise<string | null> {
  try {
    // html_handling serves public/mcp-apps/<name>.html at the path without its extension.
    const res = await assets.fetch(new Request(`https://assets.invalid/mcp-apps/${name}`));
    if (res.ok) return await res.text();
    await res.body?.cancel();
    return null;
  } catch {
    return null;
  }
}

/**
 * The pages among a Worker's static assets. Read through the binding, which `run_worker_first`
 * does not reach: `/mcp-apps/*` from outside is the Worker's (404), so a page meant for a host's
 * sandboxed frame is not also served on our origin. A page missing now (the asset build has not
 * run) is looked for again next time.
 */
export function assetPages(assets: Fetcher): AppPages {
  return async (app) => {
    const cached = loaded.get(app.name);
    if (cached !== undefined) return cached;
    const html = await readAsset(assets, app.name);
    if (html !== null) loaded.set(app.name, html);
    return html;
  };
}

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

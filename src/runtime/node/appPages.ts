import type { AppPages } from '../../mcp/apps';
import { APPROVAL_CARD_HTML } from '../../mcp/ui/approvalCard.generated';

/**
 * The MCP Apps' pages in the Node runtime: the committed modules, bundled with the server (a
 * Worker reads the same pages from its static assets instead, src/mcp/apps.ts).
 */
const PAGES: Readonly<Record<string, string>> = { 'approval-card': APPROVAL_CARD_HTML };

export const embeddedAppPages: AppPages = async (app) => PAGES[app.name] ?? null;

// The per-role catalog sizes in docs/mcp.md, from the committed mcp-tools.snapshot.json: written by
// scripts/writeMcpSnapshot.ts (`npm run codegen`), compared by test/mcp/budget.test.ts. Pure, so
// the test runs it in workerd.

import { ROLES } from '../src/domain/types';
import { CATALOG_BUDGET, type catalogSnapshot, jsonBytes, listedTool } from '../src/mcp/catalog';

export const MCP_DOC_PATH = 'docs/mcp.md';

const START = '<!-- catalog-sizes: generated from mcp-tools.snapshot.json by `npm run codegen` -->';
const END = '<!-- /catalog-sizes -->';

type Snapshot = Pick<ReturnType<typeof catalogSnapshot>, 'toolsListBytes' | 'tools'>;

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const grouped = (n: number) => n.toLocaleString('en-US');

/** The generated section: what `tools/list` costs each role, and the largest tools. */
export function catalogSizesSection(snapshot: Snapshot): string {
  const rows = ROLES.map((role) => {
    const { tools, bytes } = snapshot.toolsListBytes[role];
    const ceiling = CATALOG_BUDGET.roles[role];
    return `| ${role} | ${tools} | ${kib(bytes)} (${grouped(bytes)} B) | ${kib(ceiling)} |`;
  });
  const largest = snapshot.tools
    .map((t) => ({ name: t.name, bytes: jsonBytes(listedTool(t)) }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 3)
    .map((t) => `\`${t.name}\` ${grouped(t.bytes)} B`);
  return [
    START,
    '',
    '| Role | Tools | `tools/list` | Ceiling |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
    `Largest tools: ${largest.join(', ')} (ceiling ${grouped(CATALOG_BUDGET.tool)} B per tool).`,
    '',
    END,
  ].join('\n');
}

/** The page with its generated section replaced (the markers must be there). */
export function withCatalogSizes(page: string, snapshot: Snapshot): string {
  const start = page.indexOf(START);
  const end = page.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${MCP_DOC_PATH} lacks the catalog-sizes markers`);
  return page.slice(0, start) + catalogSizesSection(snapshot) + page.slice(end + END.length);
}

// Part of `npm run codegen`: writes the MCP tool catalog agents see, so every change to it shows in
// review, and the per-role sizes in docs/mcp.md from it.
import { readFileSync, writeFileSync } from 'node:fs';
import { buildCatalog, catalogSnapshot } from '../src/mcp/catalog';
import { schema } from '../src/schema';
import { MCP_DOC_PATH, withCatalogSizes } from './mcpCatalogDoc';

export const SNAPSHOT_PATH = 'mcp-tools.snapshot.json';

const snapshot = catalogSnapshot(buildCatalog(schema));
writeFileSync(SNAPSHOT_PATH, `${JSON.stringify(snapshot, null, 2)}\n`);
// The page gets the figures of the file as written (JSON drops the titles tools do not have).
writeFileSync(
  MCP_DOC_PATH,
  withCatalogSizes(readFileSync(MCP_DOC_PATH, 'utf8'), JSON.parse(JSON.stringify(snapshot))),
);
const { admin, viewer } = snapshot.toolsListBytes;
console.log(
  `wrote ${SNAPSHOT_PATH}: ${snapshot.tools.length} tools, ${snapshot.resourceTemplates.length} resource templates; ` +
    `tools/list ${admin.bytes} B for an admin, ${viewer.bytes} B for a viewer`,
);

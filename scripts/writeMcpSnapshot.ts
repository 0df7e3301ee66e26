// Part of `npm run codegen`: writes the MCP tool catalog agents see, so every change to it shows in review.
import { writeFileSync } from 'node:fs';
import { buildCatalog, catalogSnapshot } from '../src/mcp/catalog';
import { schema } from '../src/schema';

export const SNAPSHOT_PATH = 'mcp-tools.snapshot.json';

const snapshot = catalogSnapshot(buildCatalog(schema));
writeFileSync(SNAPSHOT_PATH, `${JSON.stringify(snapshot, null, 2)}\n`);
console.log(
  `wrote ${SNAPSHOT_PATH}: ${snapshot.tools.length} tools, ${snapshot.resourceTemplates.length} resource templates`,
);

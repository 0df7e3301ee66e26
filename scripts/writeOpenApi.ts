// Part of `npm run codegen`: writes the OpenAPI 3.1 document of /api/v1 (src/http/rest/openapi.ts),
// so that every change to the REST surface shows in review; test/node/openapi.test.mjs checks it.
import { writeFileSync } from 'node:fs';
import { buildOpenApi } from '../src/http/rest/openapi';
import { schema } from '../src/schema';

export const OPENAPI_PATH = 'openapi.json';

const document = buildOpenApi(schema);
writeFileSync(OPENAPI_PATH, `${JSON.stringify(document, null, 2)}\n`);
console.log(`wrote ${OPENAPI_PATH}: ${Object.keys(document.paths as object).length} paths`);

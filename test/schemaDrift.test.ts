import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import snapshot from '../mcp-tools.snapshot.json';
import committed from '../schema.graphql?raw';
import { plugin as sdlPlugin } from '../scripts/codegen/sdl';
import { buildCatalog, catalogSnapshot } from '../src/mcp/catalog';
import { schema } from '../src/schema';
import { printSDL } from '../src/schema/sdl';

// test/node/codegenDrift.test.mjs compares every graphql-codegen output (this SDL and the typed
// operations) with the committed files; the codegen plugins run on Node only.
describe('generated artefacts', () => {
  it('schema.graphql matches the Pothos schema (run `npm run codegen` and commit it)', async () => {
    expect(printSDL(schema)).toBe(committed);
    // The codegen plugin that writes the file is that printer, not a second one.
    expect(await sdlPlugin(schema, [], {})).toBe(committed);
  });

  it('GET /schema.graphql serves the same SDL without authentication', async () => {
    const res = await exports.default.fetch('http://cf.test/schema.graphql');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(await res.text()).toBe(committed);
  });
});

describe('MCP tool catalog', () => {
  it('mcp-tools.snapshot.json matches the generated catalog (run `npm run codegen` and commit it)', () => {
    const generated = JSON.parse(JSON.stringify(catalogSnapshot(buildCatalog(schema))));
    expect(generated).toEqual(snapshot);
  });
});

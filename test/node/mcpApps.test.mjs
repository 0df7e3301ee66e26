// The MCP Apps' pages are built from src/mcp/ui/ by scripts/buildMcpApps.mjs (npm run codegen)
// and committed, so that the Worker, the Node runtime and the type checker all see them: a page
// edited without rebuilding, or a new ext-apps build, fails here.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { buildMcpApps, pageOf } from '../../scripts/buildMcpApps.mjs';

test('the committed MCP App pages are what scripts/buildMcpApps.mjs builds (run npm run codegen)', async () => {
  const files = await buildMcpApps();
  assert.ok(files.size > 0);
  for (const [path, source] of files) {
    assert.ok(readFileSync(path, 'utf8') === source, `${path} is out of date: run npm run codegen`);
    // One self-contained page: the App client inlined, nothing loaded from elsewhere.
    const html = pageOf(source);
    assert.match(html, /^<!doctype html>/i);
    assert.doesNotMatch(html, /<(script|link|img|iframe)\b[^>]*\b(src|href)=/i);
    assert.equal(html.match(/<script>/g)?.length, 1);
  }
});

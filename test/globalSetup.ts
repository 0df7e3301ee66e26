// Vitest global setup, in Node, before the workers pool starts:
// - builds the static assets (public/vendor/, public/graphiql/, public/mcp-apps/) once, so that `env.ASSETS` serves
//   them in tests as `wrangler dev` does (it runs the same build through [build] in wrangler.toml).
//   Fast when they are up to date.
// - starts the loopback upstream stand-in (test/upstream/server.ts) for workflow executions and
//   provides its base URL to the tests as `inject('upstreamUrl')`; the teardown closes it.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { startUpstream } from './upstream/server';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  execFileSync(
    process.execPath,
    [fileURLToPath(new URL('../scripts/buildAssets.mjs', import.meta.url)), '--quiet'],
    { stdio: 'inherit' },
  );
  const upstream = await startUpstream();
  project.provide('upstreamUrl', upstream.url);
  return () => upstream.close();
}

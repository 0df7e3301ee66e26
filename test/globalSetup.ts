// Vitest global setup: builds the static assets (public/vendor/, public/graphiql/) once, in Node,
// before the workers pool starts, so that `env.ASSETS` serves them in tests as `wrangler dev` does
// (it runs the same build through [build] in wrangler.toml). Fast when they are up to date.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  execFileSync(
    process.execPath,
    [fileURLToPath(new URL('../scripts/buildAssets.mjs', import.meta.url)), '--quiet'],
    { stdio: 'inherit' },
  );
}

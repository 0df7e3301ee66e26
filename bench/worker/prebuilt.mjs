// Serves a Worker under `wrangler dev` from the bundle `wrangler deploy` would upload, instead of
// from source, with a snapshot of its static assets. Two reasons: the working tree is shared (a
// source file or an asset rebuilt by someone else mid-run makes `wrangler dev` reload the Worker,
// failing in-flight requests: "Your worker restarted mid-request"), and the bundle is exactly
// what runs in production.
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { WRANGLER_ENV } from './wranglerDev.mjs';

/**
 * The script `wrangler deploy --dry-run --outdir` wrote: named after the config's `main`
 * (worker.js, index.js…), the one .js file in the directory.
 * @param {string} outdir
 */
export function bundleFile(outdir) {
  const scripts = readdirSync(outdir).filter((f) => f.endsWith('.js'));
  if (scripts.length !== 1)
    throw new Error(`expected one bundled script in ${outdir}, found: ${scripts.join(', ') || 'none'}`);
  return /** @type {string} */ (scripts[0]);
}

/**
 * `wrangler deploy --dry-run --outdir`: returns wrangler's log (it states the upload size).
 * @param {{ root: string, config?: string, outdir: string }} options
 */
export function buildBundle({ root, config, outdir }) {
  return execFileSync(
    'npx',
    ['wrangler', 'deploy', '--dry-run', '--outdir', outdir, ...(config ? ['--config', config] : [])],
    { cwd: root, env: WRANGLER_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

/**
 * Writes `<outdir>/wrangler.toml`: the given config with `main` pointing at the built bundle,
 * bundling off, no [build] step, the assets directory copied to `<outdir>/assets` (wrangler
 * watches it), and the migrations path made absolute since the file now lives elsewhere.
 * Returns its path.
 * @param {{ root: string, config?: string, outdir: string }} options
 */
export function servingConfig({ root, config = 'wrangler.toml', outdir }) {
  const source = resolve(root, config);
  const base = dirname(source);
  const lines = readFileSync(source, 'utf8').split('\n');
  const out = ['no_bundle = true'];
  let inBuild = false;
  for (const line of lines) {
    if (/^\s*\[/.test(line)) inBuild = /^\s*\[build\]\s*$/.test(line);
    if (inBuild) continue;
    if (/^main\s*=/.test(line)) {
      out.push(`main = ${JSON.stringify(bundleFile(outdir))}`);
      continue;
    }
    const [, assetsKey, assetsDir] = /^(\s*directory\s*=\s*)"([^"]+)"/.exec(line) ?? [];
    if (assetsKey !== undefined && assetsDir !== undefined) {
      const snapshot = join(outdir, 'assets');
      cpSync(resolve(base, assetsDir), snapshot, { recursive: true });
      out.push(`${assetsKey}${JSON.stringify(snapshot)}`);
      continue;
    }
    const [, pathKey, path] = /^(\s*migrations_dir\s*=\s*)"([^"]+)"/.exec(line) ?? [];
    out.push(
      pathKey !== undefined && path !== undefined ? `${pathKey}${JSON.stringify(resolve(base, path))}` : line,
    );
  }
  const file = join(outdir, 'wrangler.toml');
  writeFileSync(file, out.join('\n'));
  return file;
}

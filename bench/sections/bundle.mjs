// Section 5: the Worker bundle as `wrangler deploy` would upload it (raw and gzipped), and its
// start-up cost in Node: module evaluation of that exact file and the first request after it,
// each sampled in fresh processes (a warm process would measure nothing). The time for
// `wrangler dev` to answer its first request is measured in the worker section.
//
//   node bench/sections/bundle.mjs [--samples 5] [--quick] [--out file]
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { benchTokens } from '../fixture/auth.mjs';
import { finish, progress, sectionArgs } from '../harness.mjs';
import { median } from '../lib.mjs';
import { bundleFile } from '../worker/prebuilt.mjs';

const args = sectionArgs({ samples: { full: 5, quick: 3 } });
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WRANGLER_ENV = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' };

const dir = mkdtempSync(join(tmpdir(), 'changeflow-bundle-'));
try {
  progress('wrangler deploy --dry-run');
  const log = execFileSync('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', dir], {
    cwd: ROOT,
    env: WRANGLER_ENV,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Wrangler's own figure is what Cloudflare's size limit is checked against.
  const upload = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(log);
  const script = readFileSync(join(dir, bundleFile(dir)));
  // Node loads a .js file outside a "type": "module" package as CommonJS: give it the ESM extension.
  const bundle = join(dir, 'worker.mjs');
  copyFileSync(join(dir, bundleFile(dir)), bundle);

  // The Worker's bindings as wrangler lists them ("env.HUB (TenantHub)  Durable Object"), minus
  // plain variables and D1: each gets an inert stand-in for the first request.
  const bindings = [...log.matchAll(/^env\.(\w+) .*?\s{2,}(.+?)\s*$/gm)]
    .filter((m) => !/Environment Variable|D1 Database/.test(m[2] ?? ''))
    .map((m) => /** @type {string} */ (m[1]));
  const { reader } = await benchTokens();
  const samples = [];
  for (let i = 0; i < args.samples; i++) {
    progress(`module evaluation, fresh process ${i + 1}/${args.samples}`);
    const out = execFileSync(
      process.execPath,
      [join(ROOT, 'bench/bundle/evalBundle.mjs'), bundle, reader, bindings.join(',')],
      {
        encoding: 'utf8',
      },
    );
    samples.push(JSON.parse(out.trim().split('\n').at(-1) ?? ''));
  }
  finish(args, {
    rawBytes: script.length,
    gzipBytes: gzipSync(script, { level: 9 }).length,
    wranglerTotalUploadKiB: upload ? Number(upload[1]) : null,
    wranglerGzipKiB: upload ? Number(upload[2]) : null,
    sourceMapBytes: statSync(join(dir, `${bundleFile(dir)}.map`), { throwIfNoEntry: false })?.size ?? null,
    samples: args.samples,
    evalMs: median(samples.map((s) => s.evalMs)),
    firstRequestMs: median(samples.map((s) => s.firstRequestMs)),
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// Starts `wrangler dev` (workerd + local D1) on loopback and stops it cleanly: used by `npm start`,
// the Node tests and the benchmarks, so that all of them run the same local service.
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';

const WRANGLER_ENV = { WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' };

/**
 * A free TCP port on loopback.
 * @returns {Promise<number>}
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
  });
}

/** @param {string | undefined} persistTo */
const persistArgs = (persistTo) => (persistTo ? ['--persist-to', persistTo] : []);

/**
 * Applies the D1 migrations to the local database (under .wrangler/ or `persistTo`).
 * @param {{ persistTo?: string, quiet?: boolean }} [options]
 */
export function migrateLocal({ persistTo, quiet = false } = {}) {
  execFileSync('npx', ['wrangler', 'd1', 'migrations', 'apply', 'DB', '--local', ...persistArgs(persistTo)], {
    stdio: quiet ? 'ignore' : 'inherit',
    env: { ...process.env, ...WRANGLER_ENV },
  });
}

/**
 * Applies the migrations like migrateLocal and says what it did in one line ("11 migrations
 * applied", "up to date"): wrangler reprints its whole table after each migration. On failure
 * the error carries wrangler's full output.
 * @param {{ persistTo?: string }} [options]
 */
export function migrateLocalSummary({ persistTo } = {}) {
  let out;
  try {
    out = execFileSync(
      'npx',
      ['wrangler', 'd1', 'migrations', 'apply', 'DB', '--local', ...persistArgs(persistTo)],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...WRANGLER_ENV } },
    );
  } catch (e) {
    const failed = /** @type {{ stdout?: string, stderr?: string }} */ (e);
    throw new Error(`applying the migrations failed:\n${failed.stdout ?? ''}${failed.stderr ?? ''}`);
  }
  if (/No migrations to apply/.test(out)) return 'up to date';
  const n = /About to apply (\d+) migration/.exec(out)?.[1];
  return n ? `${n} migration${n === '1' ? '' : 's'} applied` : 'applied';
}

/**
 * @param {string} baseUrl
 * @param {import('node:child_process').ChildProcess} child
 * @param {number} timeoutMs
 */
async function waitForHealth(baseUrl, child, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with code ${child.exitCode}`);
    try {
      const res = await fetch(`${baseUrl}/health`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`ChangeFlow did not become healthy at ${baseUrl}/health within ${timeoutMs / 1000}s`);
}

/**
 * Calls `onLine(line)` for each line of a stream, as it arrives.
 * @param {import('node:stream').Readable} stream
 * @param {(line: string) => void} onLine
 */
function eachLine(stream, onLine) {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (/** @type {string} */ chunk) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
  stream.on('end', () => {
    if (rest) onLine(rest);
  });
}

/**
 * Starts `wrangler dev` in its own process group (stopping npx alone would leave workerd running)
 * and resolves once /health answers. `vars` are passed as --var (e.g. a test JWT_SECRET), with
 * ENVIRONMENT development unless `vars` names another. `onOutput(line)`, when given, receives
 * wrangler's output line by line (stdout and stderr) instead of `stdio`.
 * @param {{
 *   port?: number,
 *   persistTo?: string,
 *   vars?: Record<string, string>,
 *   stdio?: 'ignore' | 'inherit' | 'pipe',
 *   onOutput?: (line: string) => void,
 *   timeoutMs?: number,
 * }} [options]
 */
export async function startLocalServer({
  port,
  persistTo,
  vars = {},
  stdio = 'ignore',
  onOutput,
  timeoutMs = 60_000,
} = {}) {
  const listenPort = port ?? (await freePort());
  // wrangler.toml's top level is production (safe to deploy); a local server is development
  // unless the caller says otherwise.
  const all = { ENVIRONMENT: 'development', ...vars };
  const varArgs = Object.entries(all).flatMap(([k, v]) => ['--var', `${k}:${v}`]);
  const child = spawn(
    'npx',
    [
      'wrangler',
      'dev',
      '--port',
      String(listenPort),
      '--ip',
      '127.0.0.1',
      // Exposes /__scheduled: wrangler dev does not fire the cron in wrangler.toml by itself.
      '--test-scheduled',
      ...persistArgs(persistTo),
      ...varArgs,
    ],
    {
      detached: true,
      stdio: ['ignore', onOutput ? 'pipe' : stdio, onOutput ? 'pipe' : stdio],
      env: { ...process.env, ...WRANGLER_ENV },
    },
  );
  if (onOutput && child.stdout && child.stderr) {
    eachLine(child.stdout, onOutput);
    eachLine(child.stderr, onOutput);
  }
  const baseUrl = `http://127.0.0.1:${listenPort}`;
  const stop = () => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
    } catch {
      // already stopped
    }
  };
  try {
    await waitForHealth(baseUrl, child, timeoutMs);
  } catch (e) {
    stop();
    throw e;
  }
  return { baseUrl, port: listenPort, child, stop };
}

/**
 * Fires the Worker's every-minute cron (cron-triggered workflows and the execution watchdog) the
 * way Cloudflare does in production, since `wrangler dev` does not: once now, so executions left
 * stuck by a previous run are picked up at start, then at each minute. Returns a stop function.
 * @param {string} baseUrl
 * @param {{ everyMs?: number }} [options]
 */
export function tickScheduled(baseUrl, { everyMs = 60_000 } = {}) {
  const tick = () => fetch(`${baseUrl}/__scheduled?cron=*+*+*+*+*`).catch(() => {});
  void tick();
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

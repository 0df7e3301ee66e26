// Starts `wrangler dev` (workerd + local D1) on loopback and stops it cleanly: used by `npm start`,
// the Node tests and the benchmarks, so that all of them run the same local service.
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';

const WRANGLER_ENV = { WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' };

/** A free TCP port on loopback. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const persistArgs = (persistTo) => (persistTo ? ['--persist-to', persistTo] : []);

/** Applies the D1 migrations to the local database (under .wrangler/ or `persistTo`). */
export function migrateLocal({ persistTo, quiet = false } = {}) {
  execFileSync('npx', ['wrangler', 'd1', 'migrations', 'apply', 'DB', '--local', ...persistArgs(persistTo)], {
    stdio: quiet ? 'ignore' : 'inherit',
    env: { ...process.env, ...WRANGLER_ENV },
  });
}

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
 * Starts `wrangler dev` in its own process group (stopping npx alone would leave workerd running)
 * and resolves once /health answers. `vars` are passed as --var (e.g. a test JWT_SECRET), with
 * ENVIRONMENT development unless `vars` names another.
 */
export async function startLocalServer({
  port,
  persistTo,
  vars = {},
  stdio = 'ignore',
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
    { detached: true, stdio: ['ignore', stdio, stdio], env: { ...process.env, ...WRANGLER_ENV } },
  );
  const baseUrl = `http://127.0.0.1:${listenPort}`;
  const stop = () => {
    try {
      process.kill(-child.pid, 'SIGTERM');
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
 */
export function tickScheduled(baseUrl, { everyMs = 60_000 } = {}) {
  const tick = () => fetch(`${baseUrl}/__scheduled?cron=*+*+*+*+*`).catch(() => {});
  void tick();
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

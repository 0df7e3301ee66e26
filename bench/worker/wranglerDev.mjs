// Starts and stops `wrangler dev` for the bench: a given config, a fixed loopback port and
// inspector port (the bench keeps to 8800–8809), a shared --persist-to, and --var overrides.
// Measures the time from spawning to the first successful response, which is the start-up a
// developer waits for (wrangler's build step, esbuild, workerd, the Worker's first evaluation).
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const WRANGLER_ENV = {
  ...process.env,
  WRANGLER_SEND_METRICS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
};

/**
 * Creates the local D1 under `persistTo`: every migration and then the seed, in one
 * `wrangler d1 execute` (each wrangler invocation costs seconds; the bench does not need
 * wrangler's migration bookkeeping table).
 * @param {{ root: string, persistTo: string, sql: string }} options
 */
export function prepareLocalD1({ root, persistTo, sql }) {
  const migrations = readdirSync(join(root, 'migrations'))
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => readFileSync(join(root, 'migrations', f), 'utf8'));
  const file = join(persistTo, 'bench-seed.sql');
  writeFileSync(file, [...migrations, sql].join('\n'));
  execFileSync(
    'npx',
    ['wrangler', 'd1', 'execute', 'DB', '--local', '--persist-to', persistTo, '--file', file],
    {
      cwd: root,
      env: WRANGLER_ENV,
      stdio: 'ignore',
    },
  );
}

/** Every instance started and not yet stopped, so that a signal handler can stop them all. */
/** @type {Set<() => Promise<unknown>>} */
const running = new Set();

/** Stops every `wrangler dev` this process started (also those still starting). */
export const stopAllWranglerDev = () => Promise.all([...running].map((stop) => stop()));

/** Whether something already answers on the port (a previous run's workerd, another tool). */
async function portAnswers(/** @type {number} */ port) {
  try {
    await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts `wrangler dev` in its own process group and resolves once `probe` answers 200, with the
 * time that took.
 * @param {{
 *   root: string,
 *   config?: string,
 *   port: number,
 *   inspectorPort: number,
 *   persistTo: string,
 *   vars?: Record<string, string>,
 *   probe?: string,
 *   timeoutMs?: number,
 * }} options
 */
export async function startWranglerDev({
  root,
  config,
  port,
  inspectorPort,
  persistTo,
  vars = {},
  probe = '/health',
  timeoutMs = 90_000,
}) {
  // Otherwise the probe below would time a server that is not ours.
  if (await portAnswers(port)) throw new Error(`port ${port} is in use: stop what listens there first`);
  const started = performance.now();
  const child = spawn(
    'npx',
    [
      'wrangler',
      'dev',
      ...(config ? ['--config', config] : []),
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--inspector-port',
      String(inspectorPort),
      '--persist-to',
      persistTo,
      ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
    ],
    { cwd: root, detached: true, stdio: 'ignore', env: WRANGLER_ENV },
  );
  const baseUrl = `http://127.0.0.1:${port}`;
  /** Stops the whole process group and resolves once wrangler has exited (ports free, no CPU). */
  const stop = () => {
    running.delete(stop);
    const exited = child.exitCode === null ? new Promise((r) => child.once('exit', r)) : Promise.resolve();
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    return exited;
  };
  running.add(stop);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`wrangler dev (${config ?? 'wrangler.toml'}) exited with code ${child.exitCode}`);
    }
    try {
      const res = await fetch(`${baseUrl}${probe}`);
      await res.arrayBuffer();
      if (res.ok) return { baseUrl, stop, readyMs: performance.now() - started };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  await stop();
  throw new Error(
    `wrangler dev (${config ?? 'wrangler.toml'}) did not answer ${probe} within ${timeoutMs} ms`,
  );
}

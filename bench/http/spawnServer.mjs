// Starts one bench HTTP server as a child process (its own process, so that the server and the
// load generator each get a core of their own) and waits until it answers a GraphQL request.
// Output is discarded: the servers' request logs are part of their cost, not of the report.
import { spawn } from 'node:child_process';

/**
 * @param {{
 *   name: string,
 *   args: string[],
 *   env?: Record<string, string>,
 *   url: string,
 *   probe: (url: string) => Promise<unknown>,
 *   timeoutMs?: number,
 * }} options
 */
export async function spawnServer({ name, args, env = {}, url, probe, timeoutMs = 60_000 }) {
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  const stop = () => {
    if (child.exitCode !== null) return Promise.resolve();
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    // A server that does not finish within 5 s is killed: the bench must end.
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    return exited.finally(() => clearTimeout(timer));
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: ${stderr}`);
    try {
      const res = await probe(url);
      if (res) return { name, url, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`${name} did not answer within ${timeoutMs} ms: ${stderr}`);
}

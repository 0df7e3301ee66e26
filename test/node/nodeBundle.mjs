// Starts a bundled Node runtime (scripts/buildNode.mjs output) on a loopback port 0, as the
// Node tests that need their own configuration do.
import { spawn } from 'node:child_process';

/**
 * Runs `bundle` with a SQLite file and extra environment. `ready` resolves `{ base, stdout }`
 * once it printed its banner, or rejects when it exits first (the error carries `code`, `stdout`
 * and `stderr`); `stop` ends it.
 */
export function startBundle(bundle, dbFile, env) {
  const child = spawn(process.execPath, [bundle, '--db', dbFile, '--port', '0', '--host', '127.0.0.1'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner:\n${stdout}\n${stderr}`)), 60_000);
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const m = /GraphQL\s+(http:\/\/\S+)\/graphql/.exec(stdout);
      if (m && stdout.includes('Stop with Ctrl-C')) {
        clearTimeout(timer);
        resolve({ base: m[1], stdout });
      }
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`exited ${code}:\n${stdout}\n${stderr}`), { code, stdout, stderr }));
    });
  });
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  };
  return { child, exited, ready, stop, output: () => stdout };
}

// `npm start` (scripts/dev.mjs) as a newcomer sees it: the migrations summed up in one line, no
// wrangler chatter while it starts and seeds, the banner with the tokens last, then one log line
// per request. Runs on a scratch local database (CHANGEFLOW_PERSIST_TO) and a free port.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { decodeJwt } from 'jose';
import { freePort } from '../../scripts/localServer.mjs';

const persistTo = mkdtempSync(join(tmpdir(), 'changeflow-start-'));
let child;

after(() => {
  if (child && child.exitCode === null) {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // already stopped
    }
  }
  rmSync(persistTo, { recursive: true, force: true });
});

/** Resolves when `output()` matches `re`, rejects after `ms` or when the process exits. */
function waitFor(output, re, ms, exited) {
  return new Promise((done, fail) => {
    const started = Date.now();
    const timer = setInterval(() => {
      if (re.test(output())) {
        clearInterval(timer);
        done();
      } else if (exited() || Date.now() - started > ms) {
        clearInterval(timer);
        fail(new Error(`${exited() ? 'npm start exited' : `timed out waiting for ${re}`}:\n${output()}`));
      }
    }, 100);
  });
}

test('npm start prints the migrations once, the banner last with an approver token, then one line per request', async () => {
  const port = await freePort();
  const { ENVIRONMENT: _e, ...env } = process.env;
  child = spawn(process.execPath, [resolve('scripts/dev.mjs')], {
    env: { ...env, PORT: String(port), DEMO_TENANT: 'start-test', CHANGEFLOW_PERSIST_TO: persistTo },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  const exited = () => child.exitCode !== null;
  await waitFor(() => out, /Requests are logged below, one line each\.\n/, 120_000, exited);

  const at = out.indexOf('  ChangeFlow is running');
  assert.ok(at > 0, out);
  const beforeBanner = out.slice(0, at);
  const banner = out.slice(at);
  // Before the banner: the two progress lines and nothing else from wrangler or the seed.
  assert.deepEqual(beforeBanner.trim().split('\n'), [
    `› local D1 migrations: ${readdirSync('migrations').filter((f) => f.endsWith('.sql')).length} migrations applied`,
    `› starting wrangler dev on port ${port} and seeding tenant "start-test"`,
  ]);
  assert.match(banner, /seeded 5 demo changes/);
  const token = (role) => new RegExp(`\\n\\s+${role}\\s+(eyJ\\S+)`).exec(banner)?.[1];
  assert.deepEqual(decodeJwt(token('approver')).roles, ['approver']);
  assert.deepEqual(decodeJwt(token('requester')).roles, ['requester']);
  assert.deepEqual(decodeJwt(token('admin')).roles, ['admin']);
  assert.match(banner, new RegExp(`npm run tour -- --url http://localhost:${port}`));
  assert.doesNotMatch(out, /restarting build|┌|\[wrangler:info\]/);

  // After the banner: each request is one line, the Worker's own (wrangler's copy is dropped).
  const mark = out.length;
  const res = await fetch(`http://127.0.0.1:${port}/health`);
  assert.equal(res.status, 200);
  await waitFor(() => out.slice(mark), /"path":"\/health"/, 10_000, exited);
  await new Promise((r) => setTimeout(r, 500));
  const lines = out
    .slice(mark)
    .trim()
    .split('\n')
    .filter((l) => l.includes('/health'));
  assert.equal(lines.length, 1, out.slice(mark));
  assert.equal(JSON.parse(lines[0]).status, 200);

  process.kill(-child.pid, 'SIGTERM');
  const code = await new Promise((r) => (exited() ? r(child.exitCode) : child.on('exit', r)));
  assert.equal(code, 0);
  // wrangler dev is stopped with it: nothing answers on the port any more.
  await new Promise((r) => setTimeout(r, 1000));
  await assert.rejects(fetch(`http://127.0.0.1:${port}/health`));
});

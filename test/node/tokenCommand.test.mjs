// `npm run token`: mints local development tokens, and refuses production configuration.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { jwtVerify } from 'jose';
import { readDevVars } from '../../src/runtime/node/devVars.mjs';

const script = resolve('scripts/token.mjs');

/** Runs the command in a scratch directory holding its own .dev.vars. */
function runToken(args, { devVars, env = {} } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'changeflow-token-'));
  try {
    if (devVars !== undefined) writeFileSync(join(dir, '.dev.vars'), devVars);
    const { ENVIRONMENT: _ignored, ...parentEnv } = process.env;
    const result = spawnSync(process.execPath, [script, ...args], {
      cwd: dir,
      env: { ...parentEnv, ...env },
      encoding: 'utf8',
    });
    return { ...result, dir };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('mints a token with the tenant, roles and subject asked for, signed with the local secret', async () => {
  const secret = 'a'.repeat(64);
  const { status, stdout } = runToken(
    ['--tenant', 'globex', '--roles', 'approver,requester', '--sub', 'abe'],
    {
      devVars: `JWT_SECRET=${secret}\n`,
    },
  );
  assert.equal(status, 0);
  const { payload } = await jwtVerify(stdout.trim(), new TextEncoder().encode(secret));
  assert.equal(payload.sub, 'abe');
  assert.equal(payload.tenant, 'globex');
  assert.deepEqual(payload.roles, ['approver', 'requester']);
  assert.ok(payload.exp > Date.now() / 1000);
});

test('refuses to run against production configuration', () => {
  const fromEnv = runToken(['--roles', 'admin'], {
    devVars: `JWT_SECRET=${'b'.repeat(64)}\n`,
    env: { ENVIRONMENT: 'production' },
  });
  assert.notEqual(fromEnv.status, 0);
  assert.match(fromEnv.stderr, /production/);
  assert.equal(fromEnv.stdout, '');
  const fromFile = runToken(['--roles', 'admin'], {
    devVars: `ENVIRONMENT=production\nJWT_SECRET=${'b'.repeat(64)}\n`,
  });
  assert.notEqual(fromFile.status, 0);
  assert.equal(fromFile.stdout, '');
});

test('refuses unknown roles, naming them', () => {
  const { status, stderr } = runToken(['--roles', 'admin,superuser'], {
    devVars: `JWT_SECRET=${'c'.repeat(64)}\n`,
  });
  assert.notEqual(status, 0);
  assert.match(stderr, /superuser/);
});

test('creates a random local secret when there is none yet', () => {
  const dir = mkdtempSync(join(tmpdir(), 'changeflow-token-'));
  try {
    execFileSync(process.execPath, [script, '--roles', 'viewer'], { cwd: dir, encoding: 'utf8' });
    const second = execFileSync(process.execPath, [script, '--roles', 'viewer'], {
      cwd: dir,
      encoding: 'utf8',
    });
    assert.ok(second.trim().split('.').length === 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('mints 24-hour tokens by default, the longest the server accepts by default', async () => {
  const secret = 'd'.repeat(64);
  const { status, stdout } = runToken(['--roles', 'viewer'], { devVars: `JWT_SECRET=${secret}\n` });
  assert.equal(status, 0);
  const { payload } = await jwtVerify(stdout.trim(), new TextEncoder().encode(secret));
  assert.equal(payload.exp - payload.iat, 24 * 3600);
});

test('refuses a lifetime over JWT_MAX_TTL, and follows a configured JWT_MAX_TTL', async () => {
  const secret = 'e'.repeat(64);
  const tooLong = runToken(['--roles', 'viewer', '--expires', '7d'], { devVars: `JWT_SECRET=${secret}\n` });
  assert.notEqual(tooLong.status, 0);
  assert.match(tooLong.stderr, /JWT_MAX_TTL/);
  assert.equal(tooLong.stdout, '');
  const shorterMax = runToken(['--roles', 'viewer', '--expires', '2h'], {
    devVars: `JWT_SECRET=${secret}\n`,
    env: { JWT_MAX_TTL: '1h' },
  });
  assert.notEqual(shorterMax.status, 0);
  const longerMax = runToken(['--roles', 'viewer', '--expires', '2d'], {
    devVars: `JWT_SECRET=${secret}\nJWT_MAX_TTL=7d\n`,
  });
  assert.equal(longerMax.status, 0);
  const { payload } = await jwtVerify(longerMax.stdout.trim(), new TextEncoder().encode(secret));
  assert.equal(payload.exp - payload.iat, 2 * 86400);
});

test('refuses a lifetime it cannot read', () => {
  const { status, stderr } = runToken(['--roles', 'viewer', '--expires', 'a week'], {
    devVars: `JWT_SECRET=${'f'.repeat(64)}\n`,
  });
  assert.notEqual(status, 0);
  assert.match(stderr, /--expires/);
});

test('--help prints the usage on stdout and mints nothing', () => {
  const { status, stdout, stderr } = runToken(['--help'], { devVars: `JWT_SECRET=${'c'.repeat(64)}\n` });
  assert.equal(status, 0);
  assert.match(stdout, /^Usage: npm run -s token -- /);
  assert.match(stdout, /--roles/);
  assert.doesNotMatch(stdout, /eyJ/, 'no token printed');
  assert.equal(stderr, '');
});

test('an unknown option is a usage error, not a stack trace', () => {
  const { status, stdout, stderr } = runToken(['--role', 'admin'], {
    devVars: `JWT_SECRET=${'c'.repeat(64)}\n`,
  });
  assert.equal(status, 2);
  assert.equal(stdout, '');
  assert.match(stderr, /Unknown option '--role'/);
  assert.match(stderr, /Usage: /);
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack frames');
});

test('T=$(npm run -s token -- …) captures the token alone, as the README shows', async () => {
  // Through npm, as documented: -s keeps npm's "> changeflow@… token" banner out of stdout. It runs
  // in the package root with its .dev.vars (created with a random secret if missing, as npm start).
  const { ENVIRONMENT: _ignored, ...env } = process.env;
  const { status, stdout, stderr } = spawnSync(
    'npm',
    ['run', '-s', 'token', '--', '--roles', 'approver', '--sub', 'abe'],
    {
      cwd: resolve('.'),
      env,
      encoding: 'utf8',
    },
  );
  assert.equal(status, 0, stderr);
  assert.match(stdout, /^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/);
  const { payload } = await jwtVerify(stdout.trim(), new TextEncoder().encode(readDevVars().JWT_SECRET));
  assert.deepEqual(payload.roles, ['approver']);
  assert.equal(payload.sub, 'abe');
});

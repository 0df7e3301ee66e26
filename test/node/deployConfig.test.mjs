// What a deploy and a fresh checkout get by default: wrangler.toml's top level is production (a
// `wrangler deploy` without --env must not run with CORS *, introspection and an open /metrics),
// development comes from .dev.vars, and .dev.vars (it holds the local secrets) is private.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { unstable_readConfig } from 'wrangler';
import {
  ensureDevEnvironment,
  ensureDevSecret,
  ensureDevSecretsKey,
  readDevVars,
} from '../../src/runtime/node/devVars.mjs';

const root = join(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'changeflow-devvars-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const mode = (path) => statSync(path).mode & 0o777;

test('wrangler.toml: the top level is production; staging and production say so', () => {
  const read = (env) => unstable_readConfig({ config: join(root, 'wrangler.toml'), ...(env ? { env } : {}) });
  assert.equal(read().vars.ENVIRONMENT, 'production');
  assert.equal(read('staging').vars.ENVIRONMENT, 'staging');
  assert.equal(read('production').vars.ENVIRONMENT, 'production');
});

test('wrangler.toml: audit digests are on, with an R2 archive, in every environment', () => {
  for (const env of [undefined, 'staging', 'production']) {
    const config = unstable_readConfig({ config: join(root, 'wrangler.toml'), ...(env ? { env } : {}) });
    assert.equal(config.vars.AUDIT_DIGESTS_ENABLED, 'true', `${env ?? 'top level'}`);
    assert.deepEqual(
      config.r2_buckets.map((b) => b.binding),
      ['AUDIT_ARCHIVE'],
      `${env ?? 'top level'}`,
    );
  }
});

test('.dev.vars is created readable by its owner only, with ENVIRONMENT=development', () => {
  const path = join(dir, 'fresh.dev.vars');
  const secret = ensureDevSecret(path);
  ensureDevSecretsKey(path);
  ensureDevEnvironment(path);
  assert.equal(mode(path), 0o600);
  assert.deepEqual(Object.keys(readDevVars(path)).sort(), ['ENVIRONMENT', 'JWT_SECRET', 'SECRETS_KEY']);
  assert.equal(readDevVars(path).ENVIRONMENT, 'development');
  assert.equal(ensureDevSecret(path), secret, 'an existing secret is kept');
});

test('an existing world-readable .dev.vars is tightened to 0600; its own ENVIRONMENT is kept', () => {
  const path = join(dir, 'loose.dev.vars');
  writeFileSync(path, 'JWT_SECRET=abc\nENVIRONMENT=staging\n', { mode: 0o644 });
  assert.equal(mode(path), 0o644);
  ensureDevSecret(path);
  assert.equal(mode(path), 0o600);
  assert.equal(ensureDevEnvironment(path), 'staging');
  assert.equal(readFileSync(path, 'utf8'), 'JWT_SECRET=abc\nENVIRONMENT=staging\n');
});

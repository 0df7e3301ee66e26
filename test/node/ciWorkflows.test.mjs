// The delivery pipeline in .github/workflows: every file passes action-validator (GitHub's
// workflow schema, from npm), and the steps do what docs/deployment.md promises, with the names
// wrangler.toml really has: tests on every push and pull request by the README's command; staging
// from main after its tests (migrations, deploy, /health); production by hand with a version
// (tests, migrations, deploy, /health, tag).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { unstable_readConfig } from 'wrangler';
import { parse } from 'yaml';

const root = join(import.meta.dirname, '../..');
const dir = join(root, '.github/workflows');
const CLI = createRequire(import.meta.url).resolve('@action-validator/cli/cli.mjs');
const scratch = mkdtempSync(join(tmpdir(), 'changeflow-workflows-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** action-validator's verdict on one file: exit code and output. */
async function validate(file) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, file]);
    return { code: 0, output: stdout + stderr };
  } catch (e) {
    return { code: e.code, output: `${e.stdout}${e.stderr}` };
  }
}

const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
const workflow = (name) => parse(readFileSync(join(dir, name), 'utf8'));
/** Every `run:` of a job, in order, as one string per step. */
const runs = (job) => job.steps.filter((s) => s.run).map((s) => s.run);
const d1Name = (env) =>
  unstable_readConfig({ config: join(root, 'wrangler.toml'), env }).d1_databases[0].database_name;

/** The index of the first step whose command matches, asserting there is one. */
function stepIndex(commands, pattern) {
  const i = commands.findIndex((c) => pattern.test(c));
  assert.notEqual(i, -1, `no step runs ${pattern}`);
  return i;
}

describe('.github/workflows', () => {
  test('there are the three workflows, and each passes action-validator', async () => {
    assert.deepEqual(files.sort(), ['deploy-production.yml', 'deploy-staging.yml', 'test.yml']);
    for (const file of files) {
      const { code, output } = await validate(join(dir, file));
      assert.equal(code, 0, `${file}:\n${output}`);
    }
  });

  test('action-validator refuses a broken workflow (a job without runs-on, an unknown event)', async () => {
    const broken = join(scratch, 'broken.yml');
    writeFileSync(broken, 'name: broken\non: pushh\njobs:\n  a:\n    steps:\n      - run: echo\n');
    const { code, output } = await validate(broken);
    assert.notEqual(code, 0);
    assert.match(output, /\/jobs\/a\/runs-on/);
    assert.match(output, /"path": "\/on"/);
  });

  test('test.yml runs the README test command on every push and pull request', () => {
    const wf = workflow('test.yml');
    assert.deepEqual(Object.keys(wf.on).sort(), ['pull_request', 'push', 'workflow_call']);
    assert.equal(wf.on.push, null, 'every branch');
    assert.deepEqual(runs(wf.jobs.test), ['.ci/run']);
    assert.match(readFileSync(join(root, '.ci/run'), 'utf8'), /^\.\/changeflow test$/m);
    assert.match(readFileSync(join(root, 'README.md'), 'utf8'), /\.\/changeflow test/);
  });

  test('deploy-staging.yml: after main passed its tests, migrations, then deploy, then /health', () => {
    const wf = workflow('deploy-staging.yml');
    assert.deepEqual(wf.on.workflow_run, { workflows: ['test'], types: ['completed'], branches: ['main'] });
    const job = wf.jobs.deploy;
    assert.match(job.if, /conclusion == 'success'/);
    assert.match(job.if, /event == 'push'/);
    const commands = runs(job);
    const migrate = stepIndex(
      commands,
      new RegExp(`wrangler d1 migrations apply ${d1Name('staging')} --env staging --remote`),
    );
    const deploy = stepIndex(commands, /wrangler deploy --env staging\b/);
    const smoke = stepIndex(commands, /curl -fsS .*\$\{STAGING_URL%\/\}\/health/);
    assert.ok(migrate < deploy && deploy < smoke, 'migrations, then deploy, then the smoke check');
    for (const name of ['CLOUDFLARE_API_TOKEN', 'CLOUDFLARE_ACCOUNT_ID']) {
      assert.match(job.env[name], new RegExp(`^\\$\\{\\{ secrets\\.${name} \\}\\}$`), name);
    }
  });

  test('deploy-production.yml: by hand with a version; tests, migrations, deploy, /health, tag', () => {
    const wf = workflow('deploy-production.yml');
    assert.deepEqual(Object.keys(wf.on), ['workflow_dispatch']);
    assert.equal(wf.on.workflow_dispatch.inputs.version.required, true);
    assert.equal(wf.jobs.test.uses, './.github/workflows/test.yml');
    const job = wf.jobs.deploy;
    assert.equal(job.needs, 'test');
    assert.equal(job.permissions.contents, 'write', 'pushing the tag');
    const commands = runs(job);
    const migrate = stepIndex(
      commands,
      new RegExp(`wrangler d1 migrations apply ${d1Name('production')} --env production --remote`),
    );
    const deploy = stepIndex(commands, /wrangler deploy --env production\b/);
    const smoke = stepIndex(commands, /curl -fsS .*\$\{PRODUCTION_URL%\/\}\/health/);
    const tag = stepIndex(commands, /git tag "v\$VERSION"[\s\S]*git push origin "v\$VERSION"/);
    assert.ok(migrate < deploy && deploy < smoke && smoke < tag);
  });

  test('the wrangler.toml environments the workflows deploy exist with their own database', () => {
    assert.equal(d1Name('staging'), 'changeflow-staging');
    assert.equal(d1Name('production'), 'changeflow-production');
  });
});

// The bench's own checks (issue 17 items 1 and 4), fed synthetic inputs: the 95% interval and the
// repeat-until-converged loop (bench/stats.mjs), the refusal to record from a dirty tree, and the
// load test's verdict (bench/loadVerdict.mjs). Each way a run could flatter us or pass without
// proving anything must show up as a failure here; otherwise the checks could pass silently.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { checkContention, loadVerdict, matchAudit } from '../../bench/loadVerdict.mjs';
import {
  assertRecordable,
  confidenceInterval,
  gitState,
  ratioInterval,
  repeatUntilConverged,
  threadCpuMicros,
  tQuantile95,
} from '../../bench/stats.mjs';

describe('bench statistics', () => {
  test('t quantiles: the table, the interpolation and the limit', () => {
    assert.equal(tQuantile95(1), 12.706);
    assert.equal(tQuantile95(4), 2.776);
    assert.equal(tQuantile95(30), 2.042);
    assert.ok(tQuantile95(50) < 2.021 && tQuantile95(50) > 2.0);
    assert.ok(Math.abs(tQuantile95(1e9) - 1.96) < 1e-3);
    assert.ok(Number.isNaN(tQuantile95(0)));
  });

  test('95% interval of a known sample (mean 10, sd 1, n 5: ±2.776/√5)', () => {
    const ci = confidenceInterval([9, 10, 11, 10 - Math.SQRT1_2, 10 + Math.SQRT1_2]);
    assert.equal(ci.n, 5);
    assert.ok(Math.abs(ci.mean - 10) < 1e-12);
    // Sample variance: (1 + 0 + 1 + 0.5 + 0.5) / 4 = 0.75.
    assert.ok(Math.abs(ci.sd - Math.sqrt(0.75)) < 1e-12);
    const half = (2.776 * Math.sqrt(0.75)) / Math.sqrt(5);
    assert.ok(Math.abs(ci.halfWidth - half) < 1e-12);
    assert.ok(Math.abs(ci.relative - half / 10) < 1e-12);
    assert.ok(Math.abs(ci.low - (10 - half)) < 1e-12 && Math.abs(ci.high - (10 + half)) < 1e-12);
  });

  test('one sample has no interval (never "converged")', () => {
    const ci = confidenceInterval([42]);
    assert.ok(Number.isNaN(ci.relative));
    assert.ok(Number.isNaN(confidenceInterval([]).mean));
  });

  test('stops as soon as every variant is within the target, not before minRounds', async () => {
    let calls = 0;
    const r = await repeatUntilConverged(
      async () => {
        calls++;
        return { a: 100 + (calls % 2), b: 50 };
      },
      { minRounds: 3, maxRounds: 20, target: 0.05 },
    );
    assert.equal(r.rounds, 3);
    assert.equal(calls, 3);
    assert.equal(r.converged, true);
    assert.deepEqual(r.wide, []);
    assert.deepEqual(r.samples.b, [50, 50, 50]);
  });

  test('a noisy variant keeps it going to maxRounds and is reported as not converged', async () => {
    let i = 0;
    const r = await repeatUntilConverged(
      async () => {
        i++;
        return { steady: 100, noisy: i % 2 ? 10 : 200 };
      },
      { minRounds: 2, maxRounds: 6, target: 0.05 },
    );
    assert.equal(r.rounds, 6);
    assert.equal(r.converged, false);
    assert.deepEqual(r.wide, ['noisy']);
    assert.ok(r.ci.noisy.relative > 0.05);
  });

  test('refuses fewer than two rounds (an interval needs two)', async () => {
    await assert.rejects(
      repeatUntilConverged(async () => ({ a: 1 }), { minRounds: 1, maxRounds: 3, target: 0.05 }),
    );
  });

  test('ratio interval widens with both sides', () => {
    const r = ratioInterval({ mean: 120, relative: 0.03 }, { mean: 100, relative: 0.04 });
    assert.ok(Math.abs(r.ratio - 1.2) < 1e-12);
    assert.ok(Math.abs(r.relative - 0.05) < 1e-12);
  });

  test('main-thread CPU is measured on this Node', () => {
    const before = threadCpuMicros();
    let x = 0;
    for (let i = 0; i < 2e6; i++) x += Math.sqrt(i);
    const after = threadCpuMicros();
    assert.ok(x > 0);
    assert.equal(typeof before, 'number');
    assert.ok(/** @type {number} */ (after) > /** @type {number} */ (before));
  });
});

describe('no results from a dirty tree', () => {
  const fakeGit = (/** @type {string} */ status) => (/** @type {string[]} */ args) =>
    args[0] === 'rev-parse' ? '0123456789abcdef0123456789abcdef01234567\n' : status;

  test('a clean tree is recordable', () => {
    const state = gitState('/nowhere', fakeGit(''));
    assert.equal(state.dirty, false);
    assert.doesNotThrow(() => assertRecordable(state, { smoke: false }));
  });

  test('a modified or untracked file refuses a full run, not a smoke run', () => {
    for (const status of [' M src/http/app.ts\n', '?? bench/new.mjs\n']) {
      const state = gitState('/nowhere', fakeGit(status));
      assert.equal(state.dirty, true);
      assert.throws(
        () => assertRecordable(state, { smoke: false }),
        /refusing to record bench results from a dirty tree/,
      );
      assert.doesNotThrow(() => assertRecordable(state, { smoke: true }));
    }
  });

  test('a real repository: a new file makes it dirty', async () => {
    const { execFileSync } = await import('node:child_process');
    const dir = mkdtempSync(join(tmpdir(), 'changeflow-benchgit-'));
    try {
      const git = (/** @type {string[]} */ ...a) =>
        execFileSync('git', ['-c', 'user.email=b@x', '-c', 'user.name=b', ...a], {
          cwd: dir,
          encoding: 'utf8',
        });
      git('init', '-q');
      writeFileSync(join(dir, 'a.txt'), 'a');
      git('add', '.');
      git('commit', '-qm', 'a');
      assert.equal(gitState(dir).dirty, false);
      writeFileSync(join(dir, 'b.txt'), 'b');
      assert.equal(gitState(dir).dirty, true);
      assert.throws(() => assertRecordable(gitState(dir), { smoke: false }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('load test verdict', () => {
  /** A passing run; each test breaks one thing. */
  const base = () => ({
    errors: { other: 0, rateLimited: 0 },
    warmupErrors: { other: 0, rateLimited: 0 },
    writes: {
      acknowledgedWrites: 40,
      lost: 0,
      stale: 0,
      mismatched: 0,
      missingApprovals: 0,
      missedByList: 0,
      unexplainedExtra: 0,
      listed: 12,
      tenantChangesAfter: 12,
      tenantChangesBefore: 0,
      pagesRead: 1,
    },
    auditChain: { valid: true, brokenAtSeq: null },
    audit: matchAudit(
      [{ targetId: 'c1', action: 'change.created' }],
      [{ seq: 1, targetId: 'c1', action: 'change.created' }],
      {
        uncertainWrites: 0,
      },
    ),
    contention: { changes: 2, acknowledged: 5, duplicateVersions: 0, wrongFinal: 0, examples: [] },
    contentionAttempts: { conflicts: 3 },
    restart: null,
    config: { minWrites: 20, tolerateRateLimited: false, contention: true },
  });
  // The synthetic audit above has one expected event; the verdict also wants as many as writes.
  const passing = () => {
    const r = base();
    r.writes.acknowledgedWrites = 1;
    r.config.minWrites = 1;
    return r;
  };

  test('the baseline passes', () => {
    assert.deepEqual(loadVerdict(passing()), []);
  });

  test('zero acknowledged writes fails (no vacuous pass)', () => {
    const r = passing();
    r.writes.acknowledgedWrites = 0;
    r.audit = matchAudit([], [], { uncertainWrites: 0 });
    assert.match(loadVerdict(r).join(';'), /0 acknowledged writes, fewer than the 1 required/);
    const s = base();
    s.writes.acknowledgedWrites = 19;
    assert.match(loadVerdict(s).join(';'), /19 acknowledged writes, fewer than the 20 required/);
  });

  test('429s fail the run unless tolerated, and are still reported as such', () => {
    const r = passing();
    r.errors.rateLimited = 3;
    assert.match(loadVerdict(r).join(';'), /3 requests refused by rate limiting/);
    r.config.tolerateRateLimited = true;
    assert.deepEqual(loadVerdict(r), []);
  });

  test('list count different from totalCount fails', () => {
    const r = passing();
    r.writes.listed = 11;
    assert.match(loadVerdict(r).join(';'), /the list returned 11 changes .* totalCount says 12/);
    r.writes.listed = 12;
    r.writes.tenantChangesAfter = null;
    assert.equal(loadVerdict(r).length, 1);
  });

  test('lost, stale, mismatched writes and a broken chain each fail', () => {
    for (const key of /** @type {const} */ ([
      'lost',
      'stale',
      'mismatched',
      'missingApprovals',
      'missedByList',
      'unexplainedExtra',
    ])) {
      const r = passing();
      r.writes[key] = 1;
      assert.equal(loadVerdict(r).length, 1, key);
    }
    const r = passing();
    r.auditChain = { valid: false, brokenAtSeq: 7 };
    assert.match(loadVerdict(r).join(';'), /broken at seq 7/);
  });

  test('audit: matched by target and action, each event once', () => {
    const expected = [
      { targetId: 'c1', action: 'change.created' },
      { targetId: 'c1', action: 'change.submitted*' },
      { targetId: 'c1', action: 'change.updated' },
      { targetId: 'c1', action: 'change.updated' },
    ];
    const events = [
      { seq: 1, targetId: 'c1', action: 'change.created' },
      { seq: 2, targetId: 'c1', action: 'change.submitted.pre_approved' },
      { seq: 3, targetId: 'c1', action: 'change.updated' },
    ];
    const m = matchAudit(expected, events, { uncertainWrites: 0 });
    assert.equal(m.matched, 3);
    // Two updates acknowledged, one event: the second is missing (an event is not counted twice).
    assert.deepEqual(m.missing, [{ targetId: 'c1', action: 'change.updated' }]);
    const r = passing();
    r.audit = m;
    r.writes.acknowledgedWrites = 4;
    assert.match(loadVerdict(r).join(';'), /1 of 4 acknowledged writes without their audit event/);
  });

  test('audit: the right action on the wrong target, or the wrong action, does not match', () => {
    const m1 = matchAudit(
      [{ targetId: 'c1', action: 'change.created' }],
      [{ seq: 1, targetId: 'c2', action: 'change.created' }],
      {
        uncertainWrites: 0,
      },
    );
    assert.equal(m1.missing.length, 1);
    assert.equal(m1.unexplained, 1);
    const m2 = matchAudit(
      [{ targetId: 'c1', action: 'change.updated' }],
      [{ seq: 1, targetId: 'c1', action: 'change.cancelled' }],
      {
        uncertainWrites: 0,
      },
    );
    assert.equal(m2.missing.length, 1);
  });

  test('audit: events left over are explained by uncertain writes only up to their number', () => {
    const events = [
      { seq: 1, targetId: 'x', action: 'change.created' },
      { seq: 2, targetId: 'y', action: 'change.created' },
    ];
    assert.equal(matchAudit([], events, { uncertainWrites: 2 }).unexplained, 0);
    assert.equal(matchAudit([], events, { uncertainWrites: 1 }).unexplained, 1);
    const r = passing();
    r.audit = { ...r.audit, unexplained: 1 };
    assert.match(loadVerdict(r).join(';'), /1 audit events no write explains/);
  });

  test('contention: two writes acknowledged at one version is a lost update', () => {
    const shared = new Map([
      [
        'c1',
        {
          acks: [
            { version: 1, title: 'created' },
            { version: 2, title: 'by client 0' },
            { version: 2, title: 'by client 1' },
          ],
          uncertain: false,
        },
      ],
    ]);
    const c = checkContention(shared, new Map([['c1', { version: 2, title: 'by client 1' }]]));
    assert.equal(c.duplicateVersions, 1);
    const r = passing();
    r.contention = c;
    assert.match(loadVerdict(r).join(';'), /1 lost updates/);
  });

  test('contention: a stored state other than the last acknowledged fails, unless a write was uncertain', () => {
    const acks = [
      { version: 1, title: 'created' },
      { version: 2, title: 'by client 0' },
      { version: 3, title: 'by client 1' },
    ];
    const stored = new Map([['c1', { version: 3, title: 'by client 0' }]]);
    assert.equal(checkContention(new Map([['c1', { acks, uncertain: false }]]), stored).wrongFinal, 1);
    assert.equal(checkContention(new Map([['c1', { acks, uncertain: true }]]), stored).wrongFinal, 0);
    const gone = checkContention(new Map([['c1', { acks, uncertain: true }]]), new Map([['c1', null]]));
    assert.equal(gone.wrongFinal, 1);
    const right = checkContention(
      new Map([['c1', { acks, uncertain: false }]]),
      new Map([['c1', { version: 3, title: 'by client 1' }]]),
    );
    assert.deepEqual([right.duplicateVersions, right.wrongFinal, right.acknowledged], [0, 0, 3]);
  });

  test('contention that never raced, or never wrote, fails', () => {
    const r = passing();
    r.contentionAttempts = { conflicts: 0 };
    assert.match(loadVerdict(r).join(';'), /no version conflict was seen/);
    const s = passing();
    s.contention = { ...s.contention, acknowledged: 0 };
    assert.match(loadVerdict(s).join(';'), /no write to a shared change was acknowledged/);
    const off = passing();
    off.config.contention = false;
    off.contentionAttempts = null;
    assert.deepEqual(loadVerdict(off), []);
  });

  test('a restart that was asked for and did not happen fails', () => {
    const r = passing();
    r.restart = { wanted: true, restarts: 0, outageErrors: 0 };
    assert.match(loadVerdict(r).join(';'), /killed and restarted, and was not/);
    r.restart.restarts = 1;
    assert.deepEqual(loadVerdict(r), []);
  });

  test('errors other than rate limiting fail, in the run and in the warm-up', () => {
    const r = passing();
    r.errors.other = 2;
    r.warmupErrors.other = 1;
    assert.equal(loadVerdict(r).length, 2);
  });
});

describe('load test races', () => {
  const run = (
    /** @type {{ writers: number, winners: number, conflicts: number, errors: number }[]} */ bursts,
  ) =>
    loadVerdict({
      errors: { other: 0, rateLimited: 0 },
      warmupErrors: { other: 0, rateLimited: 0 },
      writes: {
        acknowledgedWrites: 1,
        lost: 0,
        stale: 0,
        mismatched: 0,
        missingApprovals: 0,
        missedByList: 0,
        unexplainedExtra: 0,
        listed: 1,
        tenantChangesAfter: 1,
        tenantChangesBefore: 0,
        pagesRead: 1,
      },
      auditChain: { valid: true, brokenAtSeq: null },
      audit: matchAudit(
        [{ targetId: 'c', action: 'change.created' }],
        [{ seq: 1, targetId: 'c', action: 'change.created' }],
        {
          uncertainWrites: 0,
        },
      ),
      contention: { changes: 1, acknowledged: 1, duplicateVersions: 0, wrongFinal: 0, examples: [] },
      contentionAttempts: { conflicts: 1 },
      bursts,
      restart: null,
      config: { minWrites: 1, tolerateRateLimited: false, contention: true },
    });

  test('one winner and a conflict for every other writer passes', () => {
    assert.deepEqual(run([{ writers: 4, winners: 1, conflicts: 3, errors: 0 }]), []);
  });

  test('two winners at one expected version is a lost update', () => {
    assert.match(
      run([{ writers: 4, winners: 2, conflicts: 2, errors: 0 }]).join(';'),
      /2 of 4 edits acknowledged at one expected version/,
    );
  });

  test('no winner, a missing conflict, other errors, or no race at all fail', () => {
    assert.match(run([{ writers: 2, winners: 0, conflicts: 2, errors: 0 }]).join(';'), /none of 2 edits/);
    assert.match(
      run([{ writers: 3, winners: 1, conflicts: 1, errors: 0 }]).join(';'),
      /1 version conflicts for 2 losing edits/,
    );
    assert.match(
      run([{ writers: 3, winners: 1, conflicts: 1, errors: 1 }]).join(';'),
      /failed otherwise than with a version conflict/,
    );
    assert.match(run([]).join(';'), /no race was run/);
  });
});

describe('plugin ablation (bench/inprocess/ablate.mjs)', () => {
  const ROOT = new URL('../../', import.meta.url);
  /** Runs `code` in a fresh Node with tsx and the ablation hook, BENCH_ABLATE=`plugin`. */
  const ablated = async (/** @type {string} */ plugin, /** @type {string} */ code) => {
    const { spawnSync } = await import('node:child_process');
    return spawnSync(
      process.execPath,
      ['--import', 'tsx', '--import', './bench/inprocess/ablate.mjs', '--input-type=module', '-e', code],
      { cwd: ROOT, env: { ...process.env, BENCH_ABLATE: plugin }, encoding: 'utf8', timeout: 60_000 },
    );
  };

  test('the plugin factory returns an empty plugin, the module keeps its other exports, and says so', async () => {
    const r = await ablated(
      'useErrorStatus',
      `const m = await import('./src/http/plugins/use-error-status.ts');
       await import('./src/http/graphqlServer.ts');
       console.log(JSON.stringify({ plugin: m.useErrorStatus(), other: typeof m.isVariableCoercionError, done: globalThis.__benchAblated }));`,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { plugin: {}, other: 'function', done: ['useErrorStatus'] });
  });

  test('without BENCH_ABLATE nothing is replaced', async () => {
    const r = await ablated(
      '',
      `const m = await import('./src/http/plugins/use-error-status.ts');
       console.log(JSON.stringify({ keys: Object.keys(m.useErrorStatus()).length > 0, done: globalThis.__benchAblated ?? null }));`,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { keys: true, done: null });
  });

  test('an unknown plugin name is refused', async () => {
    const r = await ablated('useNope', 'console.log(1)');
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /BENCH_ABLATE=useNope: not one of/);
  });
});

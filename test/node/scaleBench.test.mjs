// The scale runner's logic (bench/scale/plan.mjs), fed synthetic writers and stores: scenarios,
// which tenant a writer writes to, the closed loop, the summary, and the check that must fail on a
// lost, an unexplained or an unaudited write, or a broken chain. Then docs/scaling.md against the
// committed result it quotes.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import {
  closedLoop,
  scenarios,
  storedProblems,
  summarise,
  tenantNames,
  tenantOf,
} from '../../bench/scale/plan.mjs';

const ROOT = resolve('.');

describe('scale bench plan', () => {
  test('each writer count in one tenant and spread over as many tenants; one writer once', () => {
    assert.deepEqual(scenarios([1, 4]), [
      { writers: 1, tenants: 1 },
      { writers: 4, tenants: 1 },
      { writers: 4, tenants: 4 },
    ]);
    assert.throws(() => scenarios([0]), /1–256/);
    assert.throws(() => scenarios([2.5]), /1–256/);
    assert.throws(() => scenarios([257]), /1–256/);
  });

  test('tenant names differ between scenarios of the same writer count, and between variants', () => {
    const one = tenantNames({ runId: 'R', variant: 'proto-do', writers: 4, tenants: 1 });
    const spread = tenantNames({ runId: 'R', variant: 'proto-do', writers: 4, tenants: 4 });
    const other = tenantNames({ runId: 'R', variant: 'service', writers: 4, tenants: 4 });
    assert.equal(one.length, 1);
    assert.equal(new Set([...one, ...spread, ...other]).size, 9);
    for (const t of [...one, ...spread]) assert.match(t, /^[a-z0-9-]{1,64}$/);
  });

  test('writers share one tenant, or each has its own', () => {
    assert.deepEqual(
      [0, 1, 2, 3].map((w) => tenantOf(w, ['a'])),
      ['a', 'a', 'a', 'a'],
    );
    assert.deepEqual(
      [0, 1, 2, 3].map((w) => tenantOf(w, ['a', 'b', 'c', 'd'])),
      ['a', 'b', 'c', 'd'],
    );
  });

  test('the closed loop keeps one request per writer in flight and counts outcomes apart', async () => {
    let inFlight = 0;
    let most = 0;
    let calls = 0;
    const run = await closedLoop({
      writers: 3,
      durationMs: 60,
      send: async (w) => {
        calls++;
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        if (w === 2 && calls % 2 === 0) throw new Error('boom');
        return w === 1 ? '409 CONCURRENT_MODIFICATION' : 'ok';
      },
    });
    assert.equal(most, 3);
    assert.equal(run.okPerWriter[1], 0);
    assert.ok((run.okPerWriter[0] ?? 0) > 0);
    assert.equal(run.ok, run.latencies.length);
    const failed = Object.values(run.errors).reduce((a, b) => a + b, 0);
    assert.equal(run.ok + failed, calls);
    assert.ok((run.errors['409 CONCURRENT_MODIFICATION'] ?? 0) > 0);
    assert.ok(Object.keys(run.errors).some((k) => k === 'thrown: boom'));
    assert.ok(run.elapsedMs >= 60 && run.rate > 0);
  });

  test('the summary: median rate, errors summed, percentiles over every write', () => {
    const s = summarise([
      { ok: 2, errors: { a: 1 }, rate: 10, latencies: [1, 2] },
      { ok: 2, errors: { a: 2, b: 1 }, rate: 30, latencies: [3, 4] },
      { ok: 1, errors: {}, rate: 20, latencies: [100] },
    ]);
    assert.equal(s.writesPerSecond, 20);
    assert.equal(s.acknowledged, 5);
    assert.deepEqual(s.errors, { a: 3, b: 1 });
    assert.equal(s.p50Ms, 3);
    assert.equal(s.p99Ms, 100);
    assert.ok(s.meanCi95Relative !== null && s.meanCi95Relative > 0);
    // No CPU measured: no CPU figure.
    assert.equal(s.cpuMsPerWrite, null);
  });

  test('server CPU per write: the CPU of the rounds over their acknowledged writes, only when every round has it', () => {
    const round = { errors: {}, rate: 1, latencies: [1] };
    assert.equal(
      summarise([
        { ...round, ok: 10, cpuMs: 50 },
        { ...round, ok: 30, cpuMs: 150 },
      ]).cpuMsPerWrite,
      5,
    );
    assert.equal(
      summarise([
        { ...round, ok: 10, cpuMs: 50 },
        { ...round, ok: 30 },
      ]).cpuMsPerWrite,
      null,
    );
    assert.equal(summarise([{ ...round, ok: 0, latencies: [], cpuMs: 50 }]).cpuMsPerWrite, null);
  });

  test('stored against acknowledged: every way a write goes wrong is a problem', () => {
    const good = { changes: 5, events: 5, valid: true };
    assert.deepEqual(storedProblems({ t: { acknowledged: 5, failed: 0 } }, { t: good }), []);
    // A failed request may have committed: up to `failed` more is not a problem.
    assert.deepEqual(storedProblems({ t: { acknowledged: 4, failed: 1 } }, { t: good }), []);
    const problems = (/** @type {any} */ stored) =>
      storedProblems({ t: { acknowledged: 5, failed: 0 } }, { t: { ...good, ...stored } });
    assert.match(problems({ changes: 4, events: 4 }).join(), /5 acknowledged, 4 stored/);
    assert.match(problems({ changes: 6, events: 6 }).join(), /6 stored, only 5 acknowledged/);
    assert.match(problems({ events: 4 }).join(), /5 changes but 4 audit events/);
    assert.match(problems({ valid: false }).join(), /does not verify/);
    assert.match(storedProblems({ t: { acknowledged: 1, failed: 0 } }, {}).join(), /not verified/);
  });
});

describe('docs/scaling.md', () => {
  const page = () => readFileSync(join(ROOT, 'docs/scaling.md'), 'utf8');
  const files = () => readdirSync(join(ROOT, 'bench/results')).filter((f) => /^scale-.*\.json$/.test(f));

  test('names a committed scale result, which verified every write', () => {
    const named = files().filter((f) => page().includes(`bench/results/${f}`));
    assert.ok(named.length >= 1, `docs/scaling.md names none of ${files().join(', ')}`);
    for (const f of named) {
      const result = JSON.parse(readFileSync(join(ROOT, 'bench/results', f), 'utf8'));
      for (const run of Object.values(result.runs)) {
        assert.deepEqual(/** @type {any} */ (run).verification.problems, [], f);
        assert.ok(/** @type {any} */ (run).verification.acknowledged > 0, f);
      }
    }
  });

  test('quotes each figure of its tables and its text from that result', () => {
    const text = page();
    const f = files().find((name) => text.includes(`bench/results/${name}`));
    const result = JSON.parse(readFileSync(join(ROOT, 'bench/results', /** @type {string} */ (f)), 'utf8'));
    const r0 = (/** @type {number | null} */ x) => (x === null ? '–' : String(Math.round(x)));
    const r1 = (/** @type {number | null} */ x) => (x === null ? '–' : x.toFixed(1));
    const thousands = (/** @type {number} */ n) => n.toLocaleString('en-US');
    const expected = [`commit \`${result.commit.slice(0, 7)}\``];
    for (const [runtime, run] of Object.entries(result.runs)) {
      const { verification, bytesPerChange } = /** @type {any} */ (run);
      expected.push(`${thousands(verification.acknowledged)} acknowledged writes`);
      expected.push(`${verification.tenants} tenants`);
      if (bytesPerChange) expected.push(`${thousands(bytesPerChange.median)} bytes`);
      for (const r of /** @type {any} */ (run).results) {
        expected.push(
          `| ${runtime} | ${r.variant} | ${r.writers} | ${r.tenants} | ${Math.round(r.writesPerSecond)} | ` +
            `${Math.round((r.meanCi95Relative ?? 0) * 100)}% | ${r0(r.p50Ms)} | ${r0(r.p99Ms)} | ${r1(r.cpuMsPerWrite)} | ` +
            `${r0(r.turnHeldMsP50)} | ${r0(r.dbCallsP50)} | ${r0(r.batchMsP50)} |`,
        );
      }
    }
    assert.deepEqual(
      expected.filter((e) => !text.includes(e)),
      [],
    );
  });
});

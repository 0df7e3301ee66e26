// Sections 1 and 4, on the same data (the project's SQLite D1 adapter) and the same built schema,
// in production configuration with every limiter on: ChangeFlow's full Yoga pipeline against bare
// Yoga, Apollo Server (default and cache control off), Mercurius (JIT off and on), the graphql-js
// floor and the raw better-sqlite3 floor (see inprocess/variants.mjs), plus optional ablations
// (ours with one plugin off), for a single read, a list of 50 and a create (with its audit event).
// Per server: operations/s with its 95% interval, main-thread and process CPU µs per operation;
// ratios. Each server runs in a process of its own (see inprocess/variantProcess.mjs for why),
// rounds alternating between them until every interval is within ±target (or the report says it
// is not). Before that, in this process: every GraphQL server must return the same data, and the
// SQL statements each operation costs are counted through every server and MCP tools/call.
//
// Needs tsx (it imports src/ directly); the app writes its JSON request log to stdout, so pass
// --out (bench/run.mjs does):
//   node --import tsx bench/sections/inprocess.mjs [--min-rounds 5] [--rounds 30] [--round-ms 2000]
//        [--warmup-ms 2000] [--target 0.05] [--ablate all|useTracing,useRest] [--quick]
//        --out result.json > /dev/null
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../src/http/app.ts';
import { schema } from '../../src/schema/index.ts';
import { BENCH_VARS, benchTokens } from '../fixture/auth.mjs';
import { LIST_SIZE, OPERATIONS } from '../fixture/operations.mjs';
import { finish, progress, sectionArgs } from '../harness.mjs';
import { ABLATABLE } from '../inprocess/ablate.mjs';
import { createBenchDatabase } from '../inprocess/database.mjs';
import { forkVariant } from '../inprocess/forkVariant.mjs';
import { alternate } from '../inprocess/measure.mjs';
import { countStatements } from '../inprocess/statements.mjs';
import { NON_GRAPHQL, VARIANTS } from '../inprocess/variants.mjs';

const args = sectionArgs(
  {
    'min-rounds': { full: 5, quick: 2 },
    rounds: { full: 30, quick: 3 },
    'round-ms': { full: 2000, quick: 200 },
    'warmup-ms': { full: 2000, quick: 300 },
    target: { full: 0.05, quick: 0.05 },
  },
  { ablate: '' },
);
const ablations =
  args.ablate === 'all' ? Object.keys(ABLATABLE) : args.ablate.split(',').filter((p) => p.trim() !== '');
for (const p of ablations) {
  if (!Object.hasOwn(ABLATABLE, p))
    throw new Error(`--ablate ${p}: not one of ${Object.keys(ABLATABLE).join(', ')}`);
}

/** @typedef {import('../types.ts').Variant} Variant */
/** @typedef {keyof typeof VARIANTS} VariantName */
/** @typedef {{ data?: Record<string, unknown>, errors?: unknown }} GraphQLBody */

const dir = mkdtempSync(join(tmpdir(), 'changeflow-bench-inprocess-'));
/** @type {{ close?: () => Promise<unknown> }[]} */
const variants = [];
try {
  const db = await createBenchDatabase(join(dir, 'bench.sqlite'));
  const tokens = await benchTokens();
  const vars = BENCH_VARS;
  /** @type {Record<string, (db: D1Database) => Promise<Variant> | Variant>} */
  const factories = Object.fromEntries(
    Object.entries(VARIANTS).map(([name, make]) => [
      name,
      (/** @type {D1Database} */ d) => make({ schema, db: d, vars, tokens }),
    ]),
  );
  /** @type {Record<string, Variant>} */
  const built = {};
  for (const [name, make] of Object.entries(factories)) {
    const variant = await make(db);
    built[name] = variant;
    variants.push(variant);
  }

  // Every server must answer every operation without errors, and the same data for the reads:
  // otherwise the figures below would compare different work.
  /** @type {Record<string, boolean>} */
  const agreement = {};
  for (const [opName, op] of Object.entries(OPERATIONS)) {
    /** @type {Record<string, Record<string, unknown>>} */
    const bodies = {};
    for (const [name, v] of Object.entries(built)) {
      if (v.skips?.(op)) continue;
      // Twice: a JIT (Mercurius with graphql-jit) compiles on the second request.
      await v.run(op);
      const text = await v.run(op);
      if (NON_GRAPHQL.has(name)) {
        JSON.parse(text);
        continue;
      }
      const body = /** @type {GraphQLBody} */ (JSON.parse(text));
      if (body.errors || !body.data) throw new Error(`${name} ${opName}: ${JSON.stringify(body.errors)}`);
      bodies[name] = body.data;
    }
    const yoga = bodies.yoga;
    if (!yoga) throw new Error('no answer from the yoga variant');
    if (opName === 'list') {
      const list = /** @type {import('../../operations.generated.ts').ListChangesQuery} */ (yoga);
      if (list.changes.nodes.length !== LIST_SIZE)
        throw new Error(`the list returned ${list.changes.nodes.length} changes`);
    }
    // Creates make new ids and timestamps: compare which fields came back, not their values.
    const canon = (/** @type {Record<string, unknown>} */ data) =>
      opName === 'create' ? Object.keys(/** @type {object} */ (data.createChangeRequest)) : data;
    const reference = JSON.stringify(canon(yoga));
    agreement[opName] = Object.values(bodies).every((d) => JSON.stringify(canon(d)) === reference);
    if (!agreement[opName]) throw new Error(`the servers disagree on ${opName}`);
  }

  progress('SQL statements per operation');
  const app = createApp(schema);
  /**
   * @param {{ tool: string, arguments: Record<string, unknown> }} tool
   * @param {import('../types.ts').BenchTokenName} token
   */
  const mcpCall = (tool, token) => async (/** @type {D1Database} */ countedDb) => {
    const res = await app.fetch(
      new Request('http://bench.local/mcp', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2025-11-25',
          authorization: `Bearer ${tokens[token]}`,
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: tool.tool, arguments: tool.arguments },
        }),
      }),
      { ...vars, DB: countedDb },
    );
    const body = /** @type {{ error?: unknown, result?: { isError?: boolean } }} */ (await res.json());
    if (body.error || body.result?.isError) throw new Error(`MCP ${tool.tool}: ${JSON.stringify(body)}`);
  };
  const statements = await countStatements({
    factories: Object.fromEntries(Object.entries(factories).filter(([name]) => !NON_GRAPHQL.has(name))),
    operations: OPERATIONS,
    db,
    extra: {
      'mcp:get_change_status': mcpCall(OPERATIONS.single.mcp, 'reader'),
      'mcp:create_change_request': mcpCall(OPERATIONS.create.mcp, 'writer'),
    },
  });
  for (const [opName, counts] of Object.entries(statements.counts)) {
    if (new Set(Object.values(counts)).size > 1)
      throw new Error(`servers ran different SQL for ${opName}: ${JSON.stringify(counts)}`);
  }

  // The checks are done: from here on, each server runs in its own process.
  for (const v of variants.splice(0)) await v.close?.();
  progress('starting one process per server');
  const names = [...Object.keys(VARIANTS), ...ablations.map((p) => `yoga-no-${p}`)];
  const processes = await Promise.all(
    names.map(async (name) => /** @type {const} */ ([name, await forkVariant(name)])),
  );
  variants.push(...processes.map(([, p]) => p));
  /** @type {Record<string, unknown>} */
  const results = {};
  for (const [opName, op] of Object.entries(OPERATIONS)) {
    const measured = processes.filter(([name]) => !built[name]?.skips?.(op));
    progress(
      `${op.label}: ${args['min-rounds']}–${args.rounds} rounds × ${args['round-ms']} ms per server (${measured.length} servers)`,
    );
    const r = await alternate(
      Object.fromEntries(
        measured.map(([name, p]) => [name, (/** @type {number} */ ms) => p.run(opName, ms)]),
      ),
      {
        minRounds: args['min-rounds'],
        maxRounds: args.rounds,
        roundMs: args['round-ms'],
        warmupMs: args['warmup-ms'],
        target: args.target,
      },
    );
    const ours = r.servers.yoga;
    if (!ours) throw new Error('yoga was not measured');
    /** @type {Record<string, number>} */
    const ratios = {};
    /** @type {Record<string, number | null>} */
    const cpuRatios = {};
    for (const [name, f] of Object.entries(r.servers)) {
      if (name === 'yoga') continue;
      // Throughput ratio (ours / theirs), and operations per main-thread CPU-second relative to
      // ours: what the throughput ratio would be with a core each, steadier on a shared machine.
      ratios[name] = ours.opsPerSec / f.opsPerSec;
      cpuRatios[name] =
        ours.mainThreadCpuUsPerOp && f.mainThreadCpuUsPerOp
          ? f.mainThreadCpuUsPerOp.mean / ours.mainThreadCpuUsPerOp.mean
          : null;
    }
    results[opName] = {
      label: op.label,
      rounds: r.rounds,
      converged: r.converged,
      wide: r.wide,
      servers: r.servers,
      ratios,
      cpuRatios,
    };
  }
  finish(args, {
    minRounds: args['min-rounds'],
    maxRounds: args.rounds,
    roundMs: args['round-ms'],
    warmupMs: args['warmup-ms'],
    target: args.target,
    ablations,
    processPerServer: true,
    agreement,
    operations: results,
    statements,
  });
} finally {
  for (const v of variants) await v.close?.();
  rmSync(dir, { recursive: true, force: true });
}

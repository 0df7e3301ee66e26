// Sections 1 and 4, on the same data (the project's SQLite D1 adapter) and the same built schema:
// ChangeFlow's full Yoga pipeline against the graphql-js floor, Apollo Server and Mercurius, for a
// single read, a list of 50 and a create (with its audit event); operations/s, CPU µs per
// operation, ratios. Each server is measured in a process of its own (see
// inprocess/variantProcess.mjs for why), rounds alternating between them. Before that, in this
// process: every server must return the same data, and the SQL statements each operation costs
// are counted through every server and through MCP tools/call.
//
// Needs tsx (it imports src/ directly); the app writes its JSON request log to stdout, so pass
// --out (bench/run.mjs does):
//   node --import tsx bench/sections/inprocess.mjs [--rounds 5] [--round-ms 500]
//        [--warmup-ms 1000] [--quick] --out result.json > /dev/null
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../src/http/app.ts';
import { schema } from '../../src/schema/index.ts';
import { BENCH_VARS, benchTokens } from '../fixture/auth.mjs';
import { LIST_SIZE, OPERATIONS } from '../fixture/operations.mjs';
import { finish, progress, sectionArgs } from '../harness.mjs';
import { createBenchDatabase } from '../inprocess/database.mjs';
import { forkVariant } from '../inprocess/forkVariant.mjs';
import { alternate } from '../inprocess/measure.mjs';
import { countStatements } from '../inprocess/statements.mjs';
import { VARIANTS } from '../inprocess/variants.mjs';

const args = sectionArgs({
  rounds: { full: 5, quick: 3 },
  'round-ms': { full: 500, quick: 250 },
  'warmup-ms': { full: 1000, quick: 400 },
});

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
      const body = /** @type {GraphQLBody} */ (JSON.parse(await v.run(op)));
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
    factories,
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
  const names = /** @type {VariantName[]} */ (Object.keys(VARIANTS));
  const processes = await Promise.all(
    names.map(async (name) => /** @type {const} */ ([name, await forkVariant(name)])),
  );
  variants.push(...processes.map(([, p]) => p));
  /** @type {Record<string, unknown>} */
  const results = {};
  for (const [opName, op] of Object.entries(OPERATIONS)) {
    progress(`${op.label}: ${args.rounds} rounds × ${args['round-ms']} ms per server`);
    /** @type {Record<VariantName, (ms: number) => Promise<import('../types.ts').LoopSample>>} */
    const runners =
      /** @type {Record<VariantName, (ms: number) => Promise<import('../types.ts').LoopSample>>} */ (
        Object.fromEntries(
          processes.map(([name, p]) => [name, (/** @type {number} */ ms) => p.run(opName, ms)]),
        )
      );
    const r = await alternate(runners, {
      rounds: args.rounds,
      roundMs: args['round-ms'],
      warmupMs: args['warmup-ms'],
    });
    results[opName] = {
      label: op.label,
      ...r,
      ratios: {
        yogaVsFloor: r.yoga.opsPerSec / r.floor.opsPerSec,
        yogaVsApollo: r.yoga.opsPerSec / r.apollo.opsPerSec,
        yogaVsMercurius: r.yoga.opsPerSec / r.mercurius.opsPerSec,
      },
      // Operations per CPU-second relative to Yoga's: what the throughput ratio would be on an
      // idle machine, and steadier than it when other processes take the cores.
      cpuRatios: {
        yogaVsFloor: r.floor.cpuUsPerOp / r.yoga.cpuUsPerOp,
        yogaVsApollo: r.apollo.cpuUsPerOp / r.yoga.cpuUsPerOp,
        yogaVsMercurius: r.mercurius.cpuUsPerOp / r.yoga.cpuUsPerOp,
      },
    };
  }
  finish(args, {
    rounds: args.rounds,
    roundMs: args['round-ms'],
    warmupMs: args['warmup-ms'],
    processPerServer: true,
    agreement,
    operations: results,
    statements,
  });
} finally {
  for (const v of variants) await v.close?.();
  rmSync(dir, { recursive: true, force: true });
}

// Section 2: over loopback HTTP with autocannon, one SQLite file and one schema, each server in its
// own process, production configuration with every limiter on: ChangeFlow's Node runtime
// (`src/runtime/node/main.ts`, what `npm run serve:node` runs: the whole app with its in-memory rate
// limiter), the same with the limiter off (to show what the limiter costs), Mercurius (JIT off and
// on), Apollo Server on node:http (cache control on and off), every peer behind the same gate
// (bench/inprocess/gate.mjs), and the floor: raw node:http answering our own response bytes. For
// the list of 50 and the single read, at 10 and 100 connections: rounds alternate between servers
// until every server's 95% interval of requests/s is within ±target (or the result says it is
// not); means, and medians of p50/p99 latency.
//
//   node --import tsx bench/sections/http.mjs [--min-rounds 3] [--rounds 12] [--duration-s 3]
//        [--target 0.05] [--quick] [--out file]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildNodeServer } from '../../scripts/buildNode.mjs';
import { BENCH_VARS, benchTokens } from '../fixture/auth.mjs';
import { LIST_SIZE, OPERATIONS } from '../fixture/operations.mjs';
import { cleanupOnSignal, finish, progress, sectionArgs } from '../harness.mjs';
import { load } from '../http/load.mjs';
import { spawnServer } from '../http/spawnServer.mjs';
import { createBenchDatabase } from '../inprocess/database.mjs';
import { median } from '../lib.mjs';
import { repeatUntilConverged } from '../stats.mjs';

const args = sectionArgs({
  'min-rounds': { full: 3, quick: 2 },
  rounds: { full: 12, quick: 2 },
  'duration-s': { full: 3, quick: 0.5 },
  'warmup-s': { full: 2, quick: 0.5 },
  target: { full: 0.05, quick: 0.05 },
});
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CONNECTIONS = [10, 100];
const QUERIES = /** @type {const} */ (['list', 'single']);

/** @typedef {import('../types.ts').HttpFigures} HttpFigures */
/** @typedef {import('../../operations.generated.ts').ListChangesQuery} ListChangesQuery */
/** @typedef {Awaited<ReturnType<typeof spawnServer>>} Server */

const dir = mkdtempSync(join(tmpdir(), 'changeflow-bench-http-'));
/** @type {Server[]} */
const servers = [];
cleanupOnSignal(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
});
try {
  const dbPath = join(dir, 'bench.sqlite');
  (await createBenchDatabase(dbPath)).close();
  const { reader } = await benchTokens();
  const headers = { authorization: `Bearer ${reader}` };
  const bodies = {
    list: JSON.stringify({ query: OPERATIONS.list.query, variables: OPERATIONS.list.variables() }),
    single: JSON.stringify({ query: OPERATIONS.single.query, variables: OPERATIONS.single.variables() }),
  };
  /** @type {(url: string, body: string) => Promise<Response>} */
  const post = (url, body) =>
    fetch(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body });
  const probe = async (/** @type {string} */ url) => (await post(url, bodies.single)).ok;

  // Ours as `npm run serve:node` runs it: the esbuild bundle, plain node. The peers import the
  // TypeScript schema, so they run through tsx; every server runs with NODE_ENV=production.
  // dist/node/server.mjs, beside node_modules (better-sqlite3 stays external to the bundle).
  const main = await buildNodeServer();
  const tsx = ['--import', 'tsx'];
  const production = { NODE_ENV: 'production' };
  /** @type {{ name: string, port: number, node: string[], script: string, flags?: string[], env: Record<string, string> }[]} */
  const specs = [
    // The real Node runtime with the bench configuration, limiter on.
    {
      name: 'changeflow',
      port: 8820,
      node: [],
      script: main,
      flags: ['--host', '127.0.0.1'],
      env: { ...BENCH_VARS, ...production },
    },
    {
      name: 'changeflowNoLimiter',
      port: 8821,
      node: [],
      script: main,
      flags: ['--host', '127.0.0.1'],
      env: { ...BENCH_VARS, ...production, RATE_LIMIT_ENABLED: 'false' },
    },
    {
      name: 'mercurius',
      port: 8822,
      node: tsx,
      script: join(ROOT, 'bench/http/mercuriusServer.mjs'),
      env: production,
    },
    {
      name: 'mercuriusJit',
      port: 8823,
      node: tsx,
      script: join(ROOT, 'bench/http/mercuriusServer.mjs'),
      flags: ['--jit'],
      env: production,
    },
    {
      name: 'apollo',
      port: 8824,
      node: tsx,
      script: join(ROOT, 'bench/http/apolloServer.mjs'),
      env: production,
    },
    {
      name: 'apolloNoCacheControl',
      port: 8825,
      node: tsx,
      script: join(ROOT, 'bench/http/apolloServer.mjs'),
      flags: ['--no-cache-control'],
      env: production,
    },
  ];
  for (const s of specs) {
    progress(`starting ${s.name} on ${s.port}`);
    servers.push(
      await spawnServer({
        name: s.name,
        args: [...s.node, s.script, '--db', dbPath, '--port', String(s.port), ...(s.flags ?? [])],
        env: s.env ?? {},
        url: `http://127.0.0.1:${s.port}/graphql`,
        probe,
      }),
    );
  }
  // The floor answers, for each request body, the bytes our server answers for it.
  const bodiesFile = join(dir, 'bodies.json');
  const ours = /** @type {Server} */ (servers[0]);
  /** @type {Record<string, string>} */
  const fixed = {};
  for (const body of Object.values(bodies)) fixed[body] = await (await post(ours.url, body)).text();
  writeFileSync(bodiesFile, JSON.stringify(fixed));
  progress('starting the node:http floor on 8826');
  servers.push(
    await spawnServer({
      name: 'floor',
      args: [join(ROOT, 'bench/http/fixedBodyServer.mjs'), '--bodies', bodiesFile, '--port', '8826'],
      env: production,
      url: 'http://127.0.0.1:8826/graphql',
      probe,
    }),
  );

  // The same data from every server, or the comparison is void.
  for (const q of QUERIES) {
    /** @type {string[]} */
    const answers = [];
    /** @type {unknown} */
    let data;
    for (const s of servers) {
      const body = /** @type {{ data?: unknown, errors?: unknown }} */ (
        await (await post(s.url, bodies[q])).json()
      );
      if (body.errors || !body.data) throw new Error(`${s.name} ${q}: ${JSON.stringify(body.errors)}`);
      answers.push(JSON.stringify(body.data));
      data = body.data;
    }
    if (new Set(answers).size !== 1) throw new Error(`the HTTP servers disagree on ${q}`);
    const list = /** @type {ListChangesQuery} */ (data);
    if (q === 'list' && list.changes.nodes.length !== LIST_SIZE)
      throw new Error('the list did not return 50 changes');
  }

  /** @type {Record<string, Record<string, unknown>>} */
  const results = {};
  for (const q of QUERIES) {
    /** @type {Record<string, unknown>} */
    const byConnections = {};
    results[q] = byConnections;
    for (const connections of CONNECTIONS) {
      progress(
        `${q}, ${connections} connections: ${args.rounds} rounds × ${args['duration-s']} s per server`,
      );
      /** @type {Map<Server, HttpFigures[]>} */
      const runs = new Map(servers.map((s) => [s, []]));
      /** @type {(s: Server, durationS: number) => Parameters<typeof load>[0]} */
      const opts = (s, durationS) => ({ url: s.url, body: bodies[q], headers, connections, durationS });
      // When autocannon stops, a server may still be working through requests it accepted: wait
      // for a fresh request to come back (it queues behind them), so that backlog never runs
      // during the next server's measurement on this 2-core machine.
      /** @type {(s: Server, durationS: number) => Promise<HttpFigures>} */
      const run = async (s, durationS) => {
        const result = await load(opts(s, durationS));
        await probe(s.url);
        return result;
      };
      for (const s of servers) await run(s, args['warmup-s']);
      const repeated = await repeatUntilConverged(
        async (r) => {
          /** @type {Record<string, number>} */
          const rates = {};
          // Rotate who goes first, so that drift on the shared machine hits every server alike.
          for (let i = 0; i < servers.length; i++) {
            const s = /** @type {Server} */ (servers[(i + r) % servers.length]);
            const figures = await run(s, args['duration-s']);
            runs.get(s)?.push(figures);
            rates[s.name] = figures.rps;
          }
          return rates;
        },
        { minRounds: args['min-rounds'], maxRounds: args.rounds, target: args.target },
      );
      /** @type {Record<string, HttpFigures>} */
      const summary = Object.fromEntries(
        [...runs].map(([s, rs]) => [
          s.name,
          {
            rps: repeated.ci[s.name]?.mean ?? Number.NaN,
            rpsCi95: repeated.ci[s.name]?.relative ?? Number.NaN,
            p50: median(rs.map((x) => x.p50)),
            p99: median(rs.map((x) => x.p99)),
            errors: rs.reduce((n, x) => n + x.errors, 0),
            non2xx: rs.reduce((n, x) => n + x.non2xx, 0),
          },
        ]),
      );
      const rps = (/** @type {import('../types.ts').HttpServer} */ name) => {
        const figures = summary[name];
        if (!figures) throw new Error(`no figures for ${name}`);
        return figures.rps;
      };
      byConnections[`c${connections}`] = {
        ...summary,
        rounds: repeated.rounds,
        converged: repeated.converged,
        wide: repeated.wide,
        ratios: {
          changeflowVsMercurius: rps('changeflow') / rps('mercurius'),
          changeflowVsMercuriusJit: rps('changeflow') / rps('mercuriusJit'),
          changeflowVsApollo: rps('changeflow') / rps('apollo'),
          changeflowVsApolloNoCacheControl: rps('changeflow') / rps('apolloNoCacheControl'),
          changeflowVsFloor: rps('changeflow') / rps('floor'),
          limiterOnVsOff: rps('changeflow') / rps('changeflowNoLimiter'),
        },
      };
    }
  }
  finish(args, {
    minRounds: args['min-rounds'],
    maxRounds: args.rounds,
    target: args.target,
    durationS: args['duration-s'],
    connections: CONNECTIONS,
    servers: [...specs.map((s) => ({ name: s.name, port: s.port })), { name: 'floor', port: 8826 }],
    results,
  });
} finally {
  await Promise.all(servers.map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
}

// Section 3: under `wrangler dev` (workerd + local D1), side by side in one run:
//  - the GraphQL list (50 changes with requester and votes) and the single read against the
//    no-GraphQL floor worker (bench/floor/) doing the same D1 reads on the same local D1 file and
//    returning the same JSON, and against its no-op route (a fixed body, no D1);
//  - both ChangeFlow instances in production configuration (BENCH_VARS), limiter on except where named;
//  - MCP `tools/call` against the same document over POST /graphql, for get_change_status and for
//    list_changes (first 50) — the comparison bench/mcpOverhead.mjs makes, folded in here.
// Both Workers are served from their `wrangler deploy --dry-run` bundles (see worker/prebuilt.mjs:
// a source file saved by someone else mid-run would otherwise restart the Worker). Also measured:
// the time `wrangler dev` takes, from source, to answer its first request (start-up, section 5).
// The list also runs against a second ChangeFlow instance with the rate limiter off, to show its
// share. Loopback only, ports 8800–8805; every instance is stopped at the end, whatever happens.
//
//   node bench/sections/worker.mjs [--rounds 4] [--requests 80] [--concurrency 8] [--warmup 30]
//        [--quick] [--out file]
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_VARS, benchTokens } from '../fixture/auth.mjs';
import { MCP_LIST, OPERATIONS } from '../fixture/operations.mjs';
import { seedSql, seedStatements } from '../fixture/seed.mjs';
import { cleanupOnSignal, finish, progress, sectionArgs } from '../harness.mjs';
import { sideBySide } from '../lib.mjs';
import { buildBundle, bundleFile, servingConfig } from '../worker/prebuilt.mjs';
import { prepareLocalD1, startWranglerDev, stopAllWranglerDev } from '../worker/wranglerDev.mjs';

/** @typedef {import('../../operations.generated.ts').ListChangesQuery} ListChangesQuery */

const args = sectionArgs({
  // Local D1 under workerd answers tens of lists per second on this machine: counts stay small so
  // that the three comparisons fit in about a minute.
  rounds: { full: 4, quick: 3 },
  requests: { full: 80, quick: 50 },
  concurrency: { full: 8, quick: 8 },
  warmup: { full: 30, quick: 20 },
});
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PORTS = {
  app: 8800,
  floor: 8801,
  appInspector: 8802,
  floorInspector: 8803,
  // Free again once the from-source instance has been timed and stopped.
  fromSource: 8804,
  fromSourceInspector: 8805,
  appNoLimiter: 8804,
  appNoLimiterInspector: 8805,
};

const tmp = mkdtempSync(join(tmpdir(), 'changeflow-bench-worker-'));
const dirs = {
  d1: join(tmp, 'd1'),
  d1Copy: join(tmp, 'd1-copy'),
  app: join(tmp, 'app'),
  appNoLimiter: join(tmp, 'app-no-limiter'),
  floor: join(tmp, 'floor'),
};
for (const d of Object.values(dirs)) mkdirSync(d);
cleanupOnSignal(async () => {
  await stopAllWranglerDev();
  rmSync(tmp, { recursive: true, force: true });
});
try {
  progress('local D1: migrations and seed');
  prepareLocalD1({ root: ROOT, persistTo: dirs.d1, sql: seedSql(seedStatements()) });
  // The limiter-off instance gets the same rows in its own state directory: two workerd processes
  // must not share Durable Object storage (the D1 file, read only here, is shared by the floor).
  cpSync(dirs.d1, dirs.d1Copy, { recursive: true });

  // What a developer waits for after `npm start`: build step, bundling, workerd, first answer.
  progress(`wrangler dev from source on ${PORTS.fromSource} (start-up time only)`);
  const fromSource = await startWranglerDev({
    root: ROOT,
    port: PORTS.fromSource,
    inspectorPort: PORTS.fromSourceInspector,
    persistTo: dirs.d1,
    vars: BENCH_VARS,
  });
  await fromSource.stop();

  progress('bundles: wrangler deploy --dry-run (ChangeFlow, floor)');
  buildBundle({ root: ROOT, outdir: dirs.app });
  const appScript = bundleFile(dirs.app);
  cpSync(join(dirs.app, appScript), join(dirs.appNoLimiter, appScript));
  buildBundle({ root: ROOT, config: 'bench/floor/wrangler.toml', outdir: dirs.floor });

  // One after the other, so that neither start-up time is inflated by the other.
  progress(`wrangler dev (ChangeFlow bundle) on ${PORTS.app}`);
  const app = await startWranglerDev({
    root: ROOT,
    config: servingConfig({ root: ROOT, outdir: dirs.app }),
    port: PORTS.app,
    inspectorPort: PORTS.appInspector,
    persistTo: dirs.d1,
    vars: BENCH_VARS,
  });
  // The same Worker with RATE_LIMIT_ENABLED=false: how much of the gap to the floor is the
  // rate limiter's Durable Object round trip per request.
  progress(`wrangler dev (ChangeFlow bundle, limiter off) on ${PORTS.appNoLimiter}`);
  const appNoLimiter = await startWranglerDev({
    root: ROOT,
    config: servingConfig({ root: ROOT, outdir: dirs.appNoLimiter }),
    port: PORTS.appNoLimiter,
    inspectorPort: PORTS.appNoLimiterInspector,
    persistTo: dirs.d1Copy,
    vars: { ...BENCH_VARS, RATE_LIMIT_ENABLED: 'false' },
  });
  progress(`wrangler dev (floor bundle) on ${PORTS.floor}`);
  const floor = await startWranglerDev({
    root: ROOT,
    config: servingConfig({ root: ROOT, config: 'bench/floor/wrangler.toml', outdir: dirs.floor }),
    port: PORTS.floor,
    inspectorPort: PORTS.floorInspector,
    persistTo: dirs.d1,
  });

  const { reader } = await benchTokens();
  const auth = { authorization: `Bearer ${reader}`, 'content-type': 'application/json' };
  const mcpHeaders = {
    ...auth,
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': '2025-11-25',
  };
  /** @type {(url: string, headers: Record<string, string>, body: string) => Promise<Response>} */
  const post = (url, headers, body) => fetch(url, { method: 'POST', headers, body });

  const listBody = JSON.stringify({ query: OPERATIONS.list.query, variables: OPERATIONS.list.variables() });
  const singleBody = JSON.stringify({
    query: OPERATIONS.single.query,
    variables: OPERATIONS.single.variables(),
  });
  const toolListBody = JSON.stringify({ query: MCP_LIST.query, variables: MCP_LIST.arguments });
  /** @type {(tool: string, args: Record<string, unknown>) => string} */
  const mcpCall = (tool, args) =>
    JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: tool, arguments: args } });
  const mcpSingleBody = mcpCall(OPERATIONS.single.mcp.tool, OPERATIONS.single.mcp.arguments);
  const mcpListBody = mcpCall(MCP_LIST.tool, MCP_LIST.arguments);

  // Each sender checks the status only (cheap); the bodies were checked once below.
  /**
   * @param {string} url
   * @param {Record<string, string>} headers
   * @param {string} body
   * @param {(text: string) => boolean} [check]
   */
  const sender = (url, headers, body, check) => async () => {
    const res = await post(url, headers, body);
    const text = await res.text();
    if (res.status !== 200 || (check && !check(text))) throw new Error(`${url} ${res.status}: ${text}`);
  };
  const mcpOk = (/** @type {string} */ text) =>
    !text.includes('"isError":true') && !text.includes('"error":');
  const send = {
    graphqlList: sender(`${app.baseUrl}/graphql`, auth, listBody),
    graphqlListNoLimiter: sender(`${appNoLimiter.baseUrl}/graphql`, auth, listBody),
    floorList: sender(`${floor.baseUrl}/list`, auth, listBody),
    floorSingle: sender(`${floor.baseUrl}/single`, auth, singleBody),
    noop: sender(`${floor.baseUrl}/noop`, auth, singleBody),
    graphqlSingle: sender(`${app.baseUrl}/graphql`, auth, singleBody),
    mcpSingle: sender(`${app.baseUrl}/mcp`, mcpHeaders, mcpSingleBody, mcpOk),
    graphqlToolList: sender(`${app.baseUrl}/graphql`, auth, toolListBody),
    mcpList: sender(`${app.baseUrl}/mcp`, mcpHeaders, mcpListBody, mcpOk),
  };

  // The floor must return what GraphQL returns, or the comparison means nothing.
  const gql = /** @type {{ data?: ListChangesQuery, errors?: unknown }} */ (
    await (await post(`${app.baseUrl}/graphql`, auth, listBody)).json()
  );
  const flo = await (await post(`${floor.baseUrl}/list`, auth, listBody)).json();
  if (gql.errors || !gql.data) throw new Error(`GraphQL list failed: ${JSON.stringify(gql.errors)}`);
  if (gql.data.changes.nodes.length !== 50) throw new Error('the GraphQL list did not return 50 changes');
  const sameJson = JSON.stringify(gql) === JSON.stringify(flo);
  if (!sameJson) throw new Error('the floor worker and GraphQL returned different JSON for the list');
  const gqlSingle = await (await post(`${app.baseUrl}/graphql`, auth, singleBody)).text();
  const floorSingle = await (await post(`${floor.baseUrl}/single`, auth, singleBody)).text();
  // Byte for byte where the JSON agrees; otherwise recorded (the comparison stays the same reads).
  const sameJsonSingle = gqlSingle === floorSingle;
  if (JSON.parse(gqlSingle).data?.change?.id !== JSON.parse(floorSingle).data?.change?.id)
    throw new Error(`the floor worker and GraphQL read different changes: ${floorSingle.slice(0, 200)}`);
  for (const s of Object.values(send)) await s();

  const opts = {
    rounds: args.rounds,
    requests: args.requests,
    concurrency: args.concurrency,
    warmup: args.warmup,
  };
  progress(`GraphQL list vs floor: ${args.rounds} rounds × ${args.requests} requests`);
  const list = await sideBySide(
    {
      graphql: send.graphqlList,
      graphqlNoLimiter: send.graphqlListNoLimiter,
      floor: send.floorList,
      noop: send.noop,
    },
    opts,
  );
  progress(`GraphQL single read vs raw-D1 floor vs no-op: ${args.rounds} rounds × ${args.requests} requests`);
  const singleVsFloor = await sideBySide(
    { graphql: send.graphqlSingle, floor: send.floorSingle, noop: send.noop },
    opts,
  );
  progress('MCP tools/call vs GraphQL: get_change_status');
  const single = await sideBySide({ graphql: send.graphqlSingle, mcp: send.mcpSingle }, opts);
  progress('MCP tools/call vs GraphQL: list_changes (first 50)');
  const toolList = await sideBySide({ graphql: send.graphqlToolList, mcp: send.mcpList }, opts);

  finish(args, {
    ...opts,
    // Spawn to first 200: from source (build + bundle + workerd) and from the prebuilt bundles.
    startupMs: { fromSource: fromSource.readyMs, appBundle: app.readyMs, floorBundle: floor.readyMs },
    sameJson,
    sameJsonSingle,
    listVsFloor: {
      ...list,
      ratio: list.graphql.rate / list.floor.rate,
      ratioNoLimiter: list.graphqlNoLimiter.rate / list.floor.rate,
      ratioVsNoop: list.graphql.rate / list.noop.rate,
    },
    singleVsFloor: {
      ...singleVsFloor,
      ratio: singleVsFloor.graphql.rate / singleVsFloor.floor.rate,
      ratioVsNoop: singleVsFloor.graphql.rate / singleVsFloor.noop.rate,
    },
    mcpSingle: { ...single, ratio: single.mcp.rate / single.graphql.rate },
    mcpList: { ...toolList, ratio: toolList.mcp.rate / toolList.graphql.rate },
  });
} finally {
  await stopAllWranglerDev();
  rmSync(tmp, { recursive: true, force: true });
}

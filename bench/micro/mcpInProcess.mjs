// MCP `tools/call get_change_status` against the same document over /graphql, in process through
// createApp(schema).fetch (production configuration, every limiter on, bench/inprocess/yoga.mjs's
// setup), alternating rounds: main-thread CPU µs per call and the ratio. With --profile <dir>,
// a V8 CPU profile of the MCP calls is written there and summarised to stderr.
//
//   node --import tsx bench/micro/mcpInProcess.mjs [--rounds 8] [--round-ms 1500] [--profile <dir>] > /dev/null
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createApp } from '../../src/http/app.ts';
import { batchedSink } from '../../src/log.ts';
import { memoryRateLimiter } from '../../src/runtime/node/rateLimiter.ts';
import { schema } from '../../src/schema/index.ts';
import { BENCH_VARS, benchTokens } from '../fixture/auth.mjs';
import { OPERATIONS } from '../fixture/operations.mjs';
import { createBenchDatabase } from '../inprocess/database.mjs';
import { printSummary, summarise } from '../profile/summarise.mjs';
import { confidenceInterval, threadCpuMicros } from '../stats.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '8' },
    'round-ms': { type: 'string', default: '1500' },
    profile: { type: 'string' },
  },
});
const dir = mkdtempSync(join(tmpdir(), 'changeflow-mcp-inprocess-'));
try {
  const db = await createBenchDatabase(join(dir, 'bench.sqlite'));
  const { reader } = await benchTokens();
  const app = createApp(schema, { logSink: batchedSink((text) => process.stdout.write(text)) });
  const env = { ...BENCH_VARS, DB: db };
  const ports = { rateLimiter: memoryRateLimiter() };
  /** @type {{ tools: { name: string, document: string }[] }} */
  const snapshot = JSON.parse(
    readFileSync(new URL('../../mcp-tools.snapshot.json', import.meta.url), 'utf8'),
  );
  const tool = snapshot.tools.find((t) => t.name === 'get_change_status');
  if (!tool) throw new Error('mcp-tools.snapshot.json has no get_change_status tool');
  const { id } = /** @type {{ id: string }} */ (OPERATIONS.single.variables());
  const post = (
    /** @type {string} */ path,
    /** @type {string} */ body,
    /** @type {Record<string, string>} */ headers,
  ) =>
    app.fetch(
      new Request(`http://bench.local${path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${reader}`,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          ...headers,
        },
        body,
      }),
      env,
      ports,
    );
  const graphqlBody = JSON.stringify({ query: tool.document, variables: { id } });
  const mcpBody = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/call',
    params: { name: 'get_change_status', arguments: { id } },
  });
  const calls = {
    graphql: async () => {
      const res = await post('/graphql', graphqlBody, {});
      const body = await res.json();
      if (res.status !== 200 || body.errors) throw new Error(`graphql ${JSON.stringify(body)}`);
    },
    mcp: async () => {
      const res = await post('/mcp', mcpBody, {
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-11-25',
      });
      const body = await res.json();
      if (res.status !== 200 || body.error || body.result?.isError)
        throw new Error(`mcp ${JSON.stringify(body)}`);
    },
  };
  const round = async (/** @type {() => Promise<void>} */ call, /** @type {number} */ ms) => {
    const cpu = threadCpuMicros() ?? 0;
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < ms) {
      await call();
      n++;
    }
    return ((threadCpuMicros() ?? 0) - cpu) / n;
  };
  for (const call of Object.values(calls)) await round(call, 1000);
  /** @type {Record<string, number[]>} */
  const us = { graphql: [], mcp: [] };
  for (let k = 0; k < Number(values.rounds); k++) {
    for (const name of k % 2 ? ['mcp', 'graphql'] : ['graphql', 'mcp']) {
      us[name]?.push(await round(calls[/** @type {'graphql' | 'mcp'} */ (name)], Number(values['round-ms'])));
    }
  }
  const g = confidenceInterval(us.graphql ?? []);
  const m = confidenceInterval(us.mcp ?? []);
  process.stderr.write(
    `get_change_status in process, ${values.rounds} alternating rounds × ${values['round-ms']} ms, main-thread CPU per call:\n` +
      `  graphql ${g.mean.toFixed(0)} µs ±${(g.relative * 100).toFixed(1)}%\n` +
      `  mcp     ${m.mean.toFixed(0)} µs ±${(m.relative * 100).toFixed(1)}%\n` +
      `  mcp/graphql CPU ×${(m.mean / g.mean).toFixed(2)} (throughput ratio ${(g.mean / m.mean).toFixed(2)})\n`,
  );
  if (values.profile) {
    mkdirSync(values.profile, { recursive: true });
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
    let n = 0;
    for (const end = performance.now() + 5000; performance.now() < end; n++) await calls.mcp();
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(join(values.profile, 'mcp.cpuprofile'), JSON.stringify(profile));
    printSummary(
      'MCP tools/call get_change_status, in process',
      summarise(profile, { top: 40, requests: n }),
    );
  }
  db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

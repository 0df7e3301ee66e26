// Per-call cost of MCP `tools/call get_change_status` against the same GraphQL query over /graphql,
// side by side in one run under `wrangler dev`: alternating rounds, medians, and the ratio.
// Also prints the size of `tools/list` per role. Loopback only; bounded in count.
//
//   node bench/mcpOverhead.mjs [--rounds 5] [--requests 300] [--concurrency 8]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { migrateLocal, startLocalServer } from '../scripts/localServer.mjs';
import { BENCH_VARS, signBenchToken } from './fixture/auth.mjs';
import { sideBySide } from './lib.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    requests: { type: 'string', default: '300' },
    concurrency: { type: 'string', default: '8' },
  },
});
const ROUNDS = Number(values.rounds);
const REQUESTS = Number(values.requests);
const CONCURRENCY = Number(values.concurrency);

const persistTo = mkdtempSync(join(tmpdir(), 'changeflow-bench-'));
migrateLocal({ persistTo, quiet: true });
// Limits high enough never to refuse: this measures the per-call cost, not the limiter's verdicts.
const server = await startLocalServer({ persistTo, vars: BENCH_VARS });
try {
  /** @type {(roles: string[], sub?: string) => Promise<string>} */
  // With the bench's audiences: BENCH_VARS is a production configuration.
  const token = (roles, sub = 'bench') => signBenchToken({ sub, tenant: 'bench', roles });
  const admin = await token(['admin']);
  const auth = { authorization: `Bearer ${admin}` };
  /** @type {(query: string, variables: Record<string, unknown>) => Promise<unknown>} */
  const gql = async (query, variables) => {
    const res = await fetch(`${server.baseUrl}/graphql`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    const body = /** @type {{ data?: unknown, errors?: unknown }} */ (await res.json());
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data;
  };
  const created = /** @type {{ createChangeRequest: { id: string } }} */ (
    await gql('mutation($i: CreateChangeRequestInput!) { createChangeRequest(input: $i) { id } }', {
      i: {
        title: 'Bench change',
        description: 'd',
        impact: 'LOW',
        urgency: 'LOW',
        affectedServices: ['api'],
      },
    })
  );
  const id = created.createChangeRequest.id;

  // The exact document the tool runs, so both sides do the same GraphQL work.
  /** @type {{ tools: { name: string, document: string }[] }} */
  const snapshot = JSON.parse(readFileSync('mcp-tools.snapshot.json', 'utf8'));
  const tool = snapshot.tools.find((t) => t.name === 'get_change_status');
  if (!tool) throw new Error('mcp-tools.snapshot.json has no get_change_status tool');
  const graphqlBody = JSON.stringify({ query: tool.document, variables: { id } });
  const mcpBody = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/call',
    params: { name: 'get_change_status', arguments: { id } },
  });
  const sendGraphql = async () => {
    const res = await fetch(`${server.baseUrl}/graphql`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: graphqlBody,
    });
    if (res.status !== 200) throw new Error(`graphql ${res.status}`);
    await res.arrayBuffer();
  };
  const sendMcp = async () => {
    const res = await fetch(`${server.baseUrl}/mcp`, {
      method: 'POST',
      headers: {
        ...auth,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-11-25',
      },
      body: mcpBody,
    });
    const body = await res.json();
    if (res.status !== 200 || body.error || body.result?.isError)
      throw new Error(`mcp ${JSON.stringify(body)}`);
  };

  const results = await sideBySide(
    { graphql: sendGraphql, mcp: sendMcp },
    { rounds: ROUNDS, requests: REQUESTS, concurrency: CONCURRENCY },
  );
  const g = results.graphql.rate;
  const m = results.mcp.rate;

  /** @type {Record<string, { bytes: number, tools: number }>} */
  const listSizes = {};
  for (const role of ['viewer', 'requester', 'approver', 'change_manager', 'admin']) {
    const res = await fetch(`${server.baseUrl}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await token([role])}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-11-25',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    const text = await res.text();
    listSizes[role] = { bytes: Buffer.byteLength(text), tools: JSON.parse(text).result.tools.length };
  }

  console.log(`wrangler dev, ${ROUNDS} rounds × ${REQUESTS} requests, ${CONCURRENCY} in flight (medians)`);
  console.log(`  GraphQL  POST /graphql (get_change_status document)  ${g.toFixed(0)} req/s`);
  console.log(`  MCP      tools/call get_change_status                ${m.toFixed(0)} req/s`);
  console.log(`  ratio MCP / GraphQL: ${(m / g).toFixed(2)}`);
  console.log('  tools/list size by role:');
  for (const [role, s] of Object.entries(listSizes))
    console.log(`    ${role.padEnd(15)} ${s.tools} tools, ${s.bytes} bytes`);
} finally {
  server.stop();
  rmSync(persistTo, { recursive: true, force: true });
}

// Every command and request in README.md and docs/ runs here, against one `wrangler dev` on a
// fresh local D1 seeded like `npm start`'s, so the docs cannot drift from the code. The convention
// (docs/README.md): `sh` blocks run in bash from the repository root and must exit 0; `graphql`
// blocks are POSTed to /graphql with a development token (`as=<role>`, admin by default) and must
// answer data without errors (or, with `expect=<CODE>`, that error code); any other block must be
// marked `output`, `illustration` or `not-run=<why>`, or this test fails.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, migrateLocal, startLocalServer } from '../../scripts/localServer.mjs';
import { seedDemo } from '../../scripts/seed.mjs';
import {
  ensureDevAuditSigningKey,
  ensureDevEnvironment,
  ensureDevSecret,
  ensureDevSecretsKey,
  signDevToken,
} from '../../src/runtime/node/devVars.mjs';
import { allBlocks, classify, docFiles, fencedBlocks, headingAnchors, relativeLinks } from './docBlocks.mjs';

const ROOT = resolve('.');
const TENANT = 'acme';
const DOC_URL = 'http://localhost:8787';
const BLOCK_TIMEOUT_MS = 180_000;

const blocks = allBlocks(ROOT);
const scratch = mkdtempSync(join(tmpdir(), 'changeflow-docs-'));
let server;
let secret;

before(async () => {
  // The shell blocks mint tokens with `npm run token`, which reads .dev.vars here, as a reader's
  // would: the server gets the same secrets (npm start makes the file the same way).
  ensureDevEnvironment();
  secret = ensureDevSecret();
  // wrangler dev reads the key that signs audit digests from .dev.vars, as under npm start.
  ensureDevAuditSigningKey();
  const persistTo = join(scratch, 'state');
  migrateLocal({ persistTo, quiet: true });
  server = await startLocalServer({
    persistTo,
    vars: { JWT_SECRET: secret, SECRETS_KEY: ensureDevSecretsKey() },
  });
  const sign = (sub, roles) => signDevToken({ secret, sub, tenant: TENANT, roles });
  await seedDemo(server.baseUrl, {
    admin: await sign('alice', ['admin']),
    requester: await sign('rita', ['requester']),
    approver1: await sign('abe', ['approver']),
    approver2: await sign('ada', ['approver']),
    manager: await sign('max', ['change_manager']),
  });
});

after(() => {
  server?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

test('the convention: what runs, what is marked, and what is refused', () => {
  const sample = [
    '```sh',
    'echo hi',
    '```',
    '- a list item:',
    '  ```graphql as=viewer expect=FORBIDDEN',
    '  { me { id } }',
    '  ```',
    '```json',
    '{}',
    '```',
    '```text output',
    'printed',
    '```',
    '```sh not-run',
    'wrangler deploy',
    '```',
    '```sh not-run=deploys',
    'wrangler deploy',
    '```',
    '```graphql as=root',
    '{ me { id } }',
    '```',
    '```sh output illustration',
    'x',
    '```',
  ].join('\n');
  const got = fencedBlocks(sample).map((b) => classify(b));
  assert.deepEqual(got[0], { run: 'sh' });
  assert.deepEqual(got[1], { run: 'graphql' });
  assert.equal(fencedBlocks(sample)[1].code, '{ me { id } }\n');
  assert.match(got[2].error, /`json` block is neither runnable/);
  assert.deepEqual(got[3], { skip: 'output' });
  assert.match(got[4].error, /not-run needs its reason/);
  assert.deepEqual(got[5], { skip: 'not-run' });
  assert.match(got[6].error, /as=root is not a role/);
  assert.match(got[7].error, /more than one mark/);
  assert.throws(() => fencedBlocks('```sh\necho'), /never closed/);
  assert.deepEqual(
    [
      ...headingAnchors(
        '# One person, one vote\n## WebSocket and SSE sessions\n```sh\n# not a heading\n```\n',
      ),
    ],
    ['one-person-one-vote', 'websocket-and-sse-sessions'],
  );
  assert.deepEqual(relativeLinks('[a](api.md#limits) [b](#here) [c](https://x.example) `[d](no.md)`'), [
    { path: 'api.md', anchor: 'limits' },
    { path: '', anchor: 'here' },
  ]);
});

test('every fenced block in README.md and docs/ is runnable or marked', () => {
  const wrong = blocks.filter((b) => b.error).map((b) => `${b.file}:${b.line}: ${b.error}`);
  assert.deepEqual(wrong, []);
  assert.ok(blocks.some((b) => b.run === 'sh') && blocks.some((b) => b.run === 'graphql'));
});

test('every repository path README.md and docs/ name in backticks exists', () => {
  const missing = [];
  for (const file of docFiles(ROOT)) {
    for (const [, path] of readFileSync(join(ROOT, file), 'utf8').matchAll(
      /`((?:src|test|scripts|bench|migrations)\/[\w./-]*)`/g,
    )) {
      if (!existsSync(join(ROOT, path.replace(/\/$/, '')))) missing.push(`${file}: ${path}`);
    }
  }
  assert.deepEqual(missing, []);
});

test('relative links in README.md and docs/ point at files and headings that exist', () => {
  const missing = [];
  for (const file of docFiles(ROOT)) {
    for (const { path, anchor } of relativeLinks(readFileSync(join(ROOT, file), 'utf8'))) {
      const target = path ? resolve(ROOT, dirname(file), path) : join(ROOT, file);
      const link = `${file}: ${path}${anchor === undefined ? '' : `#${anchor}`}`;
      let text;
      try {
        text = statSync(target).isFile() ? readFileSync(target, 'utf8') : '';
      } catch {
        missing.push(link);
        continue;
      }
      if (anchor !== undefined && target.endsWith('.md') && !headingAnchors(text).has(anchor)) {
        missing.push(link);
      }
    }
  }
  assert.deepEqual(missing, []);
});

test('docs/mcp.md names every tool and resource template of the committed MCP catalog', () => {
  const page = readFileSync(join(ROOT, 'docs/mcp.md'), 'utf8');
  const catalog = JSON.parse(readFileSync(join(ROOT, 'mcp-tools.snapshot.json'), 'utf8'));
  const names = [...catalog.tools.map((t) => t.name), ...catalog.resourceTemplates.map((r) => r.uriTemplate)];
  assert.deepEqual(
    names.filter((n) => !page.includes(`\`${n}\``)),
    [],
  );
});

test('docs/performance.md quotes its figures from the committed results in bench/results/', () => {
  const page = readFileSync(join(ROOT, 'docs/performance.md'), 'utf8');
  const bench = JSON.parse(readFileSync(join(ROOT, 'bench/results/latest.json'), 'utf8'));
  const load = JSON.parse(readFileSync(join(ROOT, 'bench/results/load-latest.json'), 'utf8'));
  const r = (x) => String(Math.round(x));
  const ops = bench.inProcess.operations;
  const http = bench.http.results;
  const w = bench.worker;
  const peers = (op, names) => names.map((n) => r(ops[op].servers[n].opsPerSec));
  const [bare, apollo, apolloOff, mercurius] = ['yogaBare', 'apollo', 'apolloNoCacheControl', 'mercurius'];
  const servers = (op) => ops[op].servers.yoga;
  const rps = (op, conn, name) => r(http[op][conn][name].rps);
  const both = (op, name) => `${rps(op, 'c10', name)} / ${rps(op, 'c100', name)}`;
  const expected = [
    `at commit \`${bench.meta.commit.slice(0, 7)}\` (${bench.meta.date})`,
    `Node ${bench.meta.node.slice(1)}`,
    `| ${['single', 'list', 'create'].map((op) => bench.inProcess.statements.counts[op].yoga).join(', ')} |`,
    ...['single', 'list', 'create'].map(
      (op) =>
        `| ${r(servers(op).opsPerSec)} ops/s (${r(servers(op).mainThreadCpuUsPerOp.mean)} µs CPU per op) |`,
    ),
    ...['single', 'list', 'create'].map((op) => {
      const [b, a, off, m] = peers(op, [bare, apollo, apolloOff, mercurius]);
      return `bare Yoga ${b}, Apollo ${a} (cache control off ${off}), Mercurius ${m}`;
    }),
    ...['single', 'list'].flatMap((op) => [
      `(JIT ${r(ops[op].servers.mercuriusJit.opsPerSec)}), graphql-js floor ${r(ops[op].servers.floor.opsPerSec)}, raw SQLite floor ${r(ops[op].servers.sqliteFloor.opsPerSec)} ops/s`,
      `| ${both(op, 'changeflow')} req/s | Apollo ${both(op, 'apollo')} (cache control off ${both(op, 'apolloNoCacheControl')}), Mercurius ${both(op, 'mercurius')} (JIT ${both(op, 'mercuriusJit')})`,
    ]),
    `graphql-js floor ${r(ops.create.servers.floor.opsPerSec)} ops/s |`,
    `\`node:http\` floor ${both('single', 'floor')} |`,
    ...[
      ['list of 50', w.listVsFloor],
      ['single read', w.singleVsFloor],
    ].map(
      ([label, x]) =>
        `| \`wrangler dev\`, ${label} | ${r(x.graphql.rate)} req/s | the same D1 reads without GraphQL ${r(x.floor.rate)} req/s (ratio ${x.ratio.toFixed(2)}), a no-op route ${r(x.noop.rate)} |`,
    ),
    `\`get_change_status\` ${r(w.mcpSingle.mcp.rate)}, \`list_changes\` ${r(w.mcpList.mcp.rate)} req/s`,
    `over \`/graphql\`: ${r(w.mcpSingle.graphql.rate)}, ${r(w.mcpList.graphql.rate)} req/s (ratios ${w.mcpSingle.ratio.toFixed(2)}, ${w.mcpList.ratio.toFixed(2)})`,
    `${r(bench.bundle.wranglerTotalUploadKiB)} KiB upload, ${r(bench.bundle.wranglerGzipKiB)} KiB gzipped`,
    `module evaluation ${r(bench.bundle.evalMs)} ms; \`wrangler dev\` ready in ${(w.startupMs.fromSource / 1000).toFixed(1)} s`,
    `${load.config.clients} clients, ${load.config.durationSeconds} s`,
    `${load.totals.opsPerSecond} ops/s, p50 ${r(load.totals.latencyMs.p50)} ms, p99 ${r(load.totals.latencyMs.p99)} ms, ${load.totals.requests} requests`,
    `(${(load.restart.outageMs / 1000).toFixed(1)} s down, ${load.restart.outageErrors} requests refused meanwhile`,
    `${load.checks.writes.acknowledgedWrites} acknowledged\nwrites on ${load.checks.writes.changesTracked} changes`,
    `(${load.checks.audit.matched} of ${load.checks.audit.expected})`,
    `${load.checks.contention.acknowledged} contended edits of ${load.checks.contention.changes} shared changes with ${load.checks.contention.conflicts} version conflicts`,
    `(${load.checks.auditChain.checked} events)`,
  ];
  assert.equal(bench.meta.dirty, false, 'the committed bench ran on a clean tree');
  assert.equal(load.commit, bench.meta.commit.slice(0, 7), 'the page says both files are of one commit');
  assert.deepEqual(
    expected.filter((text) => !page.includes(text)),
    [],
  );
});

/** Runs bash in the repository root; resolves with its status and output. */
function bash(code, { env = {}, timeoutMs = BLOCK_TIMEOUT_MS, detached = false } = {}) {
  const child = spawn('bash', ['-euo', 'pipefail', '-c', code], {
    cwd: ROOT,
    env: { ...process.env, CHANGEFLOW_URL: server.baseUrl, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached,
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  const done = new Promise((resolveDone) => {
    const timer = setTimeout(() => stopGroup(child), timeoutMs);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolveDone({ status, signal, output: out });
    });
  });
  return { child, done, output: () => out };
}

function stopGroup(child) {
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    child.kill('SIGTERM');
  }
}

/** A block's text as run: the documented URL is the test server's, ./data/ a scratch folder. */
function localise(code) {
  return code.replaceAll(DOC_URL, server.baseUrl).replaceAll('./data/', `${scratch}/data/`);
}

async function runShell(block) {
  if (!block.attrs.serves) {
    const { status, output } = await bash(localise(block.code)).done;
    assert.equal(status, 0, `${block.file}:${block.line} exited ${status}:\n${block.code}\n${output}`);
    return;
  }
  // A server the block starts (serves=<health URL>): its port becomes a free one, in the block
  // and the URL; it must answer 200 there, then it is stopped.
  const url = new URL(block.attrs.serves);
  const port = String(await freePort());
  const code = localise(block.code)
    .replaceAll(`:${url.port}`, `:${port}`)
    .replaceAll(` ${url.port}`, ` ${port}`);
  url.port = port;
  const run = bash(code, { detached: true });
  const deadline = Date.now() + 90_000;
  let healthy = false;
  while (!healthy && Date.now() < deadline && run.child.exitCode === null) {
    healthy = await fetch(url)
      .then((r) => r.status === 200)
      .catch(() => false);
    if (!healthy) await new Promise((r) => setTimeout(r, 250));
  }
  stopGroup(run.child);
  const { output } = await run.done;
  assert.ok(healthy, `${block.file}:${block.line} never answered 200 at ${url}:\n${code}\n${output}`);
}

async function runGraphql(block) {
  const role = block.attrs.as ?? 'admin';
  const token = await signDevToken({ secret, sub: `docs-${role}`, tenant: TENANT, roles: [role] });
  const res = await fetch(`${server.baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: block.code }),
  });
  const body = await res.json();
  const where = `${block.file}:${block.line} (as ${role}) answered ${res.status} ${JSON.stringify(body)}`;
  if (block.attrs.expect) {
    assert.equal(body.errors?.[0]?.extensions?.code, block.attrs.expect, where);
  } else {
    assert.equal(body.errors, undefined, where);
    assert.equal(res.status, 200, where);
    assert.ok(body.data, where);
  }
}

for (const block of blocks.filter((b) => b.run)) {
  test(`${block.file}:${block.line} (${block.info})`, () =>
    block.run === 'sh' ? runShell(block) : runGraphql(block));
}

// The client side of `npm run load` (bench/load.mjs): HTTP calls to /graphql and /mcp that classify
// every outcome, the operation mix one client runs, the recorder of latencies and errors, and the
// ledger of acknowledged writes that the checks read back afterwards. Plain fetch, nothing
// runtime-specific: the same code drives `wrangler dev` and the Node runtime.
import { randomUUID } from 'node:crypto';
import { percentile } from './lib.mjs';

export const MCP_PROTOCOL_VERSION = '2025-11-25';

// ---------------------------------------------------------------------------------------------
// Documents

const CHANGE_FIELDS = 'id status version';

export const DOCS = {
  getChange: `query LoadGetChange($id: ID!) { change(id: $id) { id title status priority riskLevel version
    requester { id displayName } approvals { id decision approver { id displayName } } allowedTransitions } }`,
  list50: `query LoadList50 { changes(first: 50) { nodes { id title status priority riskLevel version affectedServices
    createdAt requester { id displayName } approvals { id decision createdAt approver { id displayName } } }
    pageInfo { hasNextPage endCursor } } }`,
  kpis: `query LoadKpis { metrics { totalChanges activeChanges pendingApprovals meanTimeToApproveHours successRate
    emergencyRatio changesByStatus { status count } generatedAt } }`,
  create: `mutation LoadCreate($input: CreateChangeRequestInput!) { createChangeRequest(input: $input) { ${CHANGE_FIELDS} } }`,
  submit: `mutation LoadSubmit($id: ID!, $expectedVersion: Int) {
    submitChange(id: $id, expectedVersion: $expectedVersion) { ${CHANGE_FIELDS} riskLevel } }`,
  approve: `mutation LoadApprove($id: ID!, $comment: String) { approveChange(id: $id, comment: $comment) {
    approval { id } approvalsReceived approvalsRequired stillNeeded change { ${CHANGE_FIELDS} } } }`,
  readBack: `query LoadReadBack($after: String) { changes(first: 100, after: $after) {
    nodes { id status version approvals { id } } pageInfo { hasNextPage endCursor } } }`,
  total: 'query LoadTotal { changes(first: 1) { totalCount } }',
  readOne: 'query LoadReadOne($id: ID!) { change(id: $id) { id status version approvals { id } } }',
  verifyChain: 'query LoadVerifyChain { verifyAuditChain { valid checked brokenAtSeq reason } }',
};

// ---------------------------------------------------------------------------------------------
// Transport: every call resolves to an outcome, never throws.

/**
 * An outcome is `{ ok, status, data, headers, error }`; `error`, when set, is
 * `{ category, key, message }` where category is one of rate_limited, http, graphql, jsonrpc,
 * tool, network, check.
 */
const failure = (category, key, message, extra = {}) => ({
  ok: false,
  error: { category, key, message: String(message ?? '').slice(0, 300) },
  ...extra,
});

const networkFailure = (e) => {
  const code = e?.name === 'TimeoutError' ? 'timeout' : (e?.cause?.code ?? e?.name ?? 'error');
  return failure('network', `network ${code}`, e?.cause?.message ?? e?.message);
};

async function readBody(res) {
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  if (type.includes('text/event-stream')) {
    // One JSON-RPC response in an SSE stream: the last `data:` line that parses.
    const datas = text
      .split('\n')
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).trim());
    for (const d of datas.reverse()) {
      try {
        return JSON.parse(d);
      } catch {
        // keep looking
      }
    }
    return null;
  }
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export function createTransport({ baseUrl, timeoutMs = 30_000 }) {
  const graphqlUrl = `${baseUrl}/graphql`;
  const mcpUrl = `${baseUrl}/mcp`;

  /** POST /graphql; `headers` adds e.g. Idempotency-Key. */
  async function graphql(token, query, variables = {}, { headers = {}, timeout = timeoutMs } = {}) {
    let res;
    let body;
    try {
      res = await fetch(graphqlUrl, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          ...headers,
        },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(timeout),
      });
      body = await readBody(res);
    } catch (e) {
      return networkFailure(e);
    }
    const base = { status: res.status, headers: res.headers };
    const first = body?.errors?.[0];
    const code = first?.extensions?.code;
    if (res.status === 429 || code === 'RATE_LIMITED')
      return failure('rate_limited', 'rate-limited (429)', first?.message, base);
    if (first) {
      const suffix = res.status === 200 ? '' : ` (HTTP ${res.status})`;
      return failure('graphql', `GraphQL ${code ?? 'NO_CODE'}${suffix}`, first.message, base);
    }
    if (res.status !== 200 || !body?.data)
      return failure('http', `HTTP ${res.status}`, body ? JSON.stringify(body) : 'unparseable body', base);
    return { ok: true, data: body.data, ...base };
  }

  /** MCP `tools/call` over stateless Streamable HTTP (no initialize needed). */
  async function mcpTool(token, name, args) {
    let res;
    let body;
    try {
      res = await fetch(mcpUrl, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': MCP_PROTOCOL_VERSION,
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: randomUUID(),
          method: 'tools/call',
          params: { name, arguments: args },
        }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      body = await readBody(res);
    } catch (e) {
      return networkFailure(e);
    }
    const base = { status: res.status, headers: res.headers };
    if (res.status === 429 || body?.error?.code === -32029)
      return failure('rate_limited', 'rate-limited (429)', body?.error?.message, base);
    if (body?.error) {
      const suffix = res.status === 200 ? '' : ` (HTTP ${res.status})`;
      return failure('jsonrpc', `JSON-RPC ${body.error.code}${suffix}`, body.error.message, base);
    }
    if (res.status !== 200 || !body?.result)
      return failure('http', `HTTP ${res.status}`, body ? JSON.stringify(body) : 'unparseable body', base);
    const result = body.result;
    if (result.isError) {
      let err = {};
      try {
        err = JSON.parse(result.content?.[0]?.text ?? '{}').error ?? {};
      } catch {
        // not our error shape
      }
      if (err.code === 'RATE_LIMITED')
        return failure('rate_limited', 'rate-limited (tool)', err.message, base);
      return failure('tool', `tool ${err.code ?? 'ERROR'}`, err.message, base);
    }
    return { ok: true, data: result.structuredContent, ...base };
  }

  return { graphql, mcpTool };
}

// ---------------------------------------------------------------------------------------------
// Recorder: latency per operation kind, errors by kind.

export class Recorder {
  constructor() {
    this.kinds = new Map();
  }

  #kind(kind) {
    let k = this.kinds.get(kind);
    if (!k) {
      k = { count: 0, ok: 0, latencies: [], errors: new Map(), samples: new Map() };
      this.kinds.set(kind, k);
    }
    return k;
  }

  /** One finished request: its latency and, when it failed, its error. */
  record(kind, ms, error) {
    const k = this.#kind(kind);
    k.count++;
    k.latencies.push(ms);
    if (!error) {
      k.ok++;
      return;
    }
    this.error(kind, error, false);
  }

  /** An error that is not a request of its own (a failed check on a response that was 200). */
  error(kind, error, standalone = true) {
    const k = this.#kind(kind);
    const key = `${error.category}|${error.key}`;
    k.errors.set(key, (k.errors.get(key) ?? 0) + 1);
    if (standalone) k.checkFailures = (k.checkFailures ?? 0) + 1;
    const samples = k.samples.get(key) ?? [];
    if (samples.length < 3) samples.push(error.message);
    k.samples.set(key, samples);
  }

  summary(elapsedSeconds) {
    const byKind = {};
    let total = 0;
    let ok = 0;
    const all = [];
    const errors = { total: 0, rateLimited: 0, other: 0, byCategory: {}, byKind: {} };
    for (const [kind, k] of [...this.kinds].sort(([a], [b]) => a.localeCompare(b))) {
      total += k.count;
      ok += k.ok;
      all.push(...k.latencies);
      const sorted = [...k.latencies].sort((a, b) => a - b);
      byKind[kind] = {
        requests: k.count,
        ok: k.ok,
        opsPerSecond: round(k.count / elapsedSeconds, 1),
        latencyMs: latencySummary(sorted),
      };
      for (const [key, n] of k.errors) {
        const [category, label] = key.split('|');
        errors.total += n;
        if (category === 'rate_limited') errors.rateLimited += n;
        else errors.other += n;
        errors.byCategory[category] = (errors.byCategory[category] ?? 0) + n;
        errors.byKind[kind] ??= {};
        errors.byKind[kind][label] = { category, count: n, samples: k.samples.get(key) };
      }
    }
    return {
      totals: {
        requests: total,
        ok,
        opsPerSecond: round(total / elapsedSeconds, 1),
        okOpsPerSecond: round(ok / elapsedSeconds, 1),
        latencyMs: latencySummary(all.sort((a, b) => a - b)),
      },
      byKind,
      errors,
    };
  }
}

const round = (x, digits = 2) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : null);

function latencySummary(sorted) {
  if (!sorted.length) return { p50: null, p90: null, p99: null, max: null, mean: null };
  return {
    p50: round(percentile(sorted, 50)),
    p90: round(percentile(sorted, 90)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1]),
    mean: round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
  };
}

// ---------------------------------------------------------------------------------------------
// Ledger: what the server acknowledged, per change.

export class Ledger {
  constructor() {
    /** id → { status, version, approvals: Set, uncertain, via } */
    this.changes = new Map();
    this.ids = [];
    this.acknowledgedWrites = 0;
    /** Creates whose outcome is unknown (network error, 5xx): they may or may not have landed. */
    this.uncertainCreates = 0;
  }

  /** A write the server acknowledged with this state of the change. */
  ack(change, { via, approvalId } = {}) {
    this.acknowledgedWrites++;
    let entry = this.changes.get(change.id);
    if (!entry) {
      entry = { status: change.status, version: change.version, approvals: new Set(), uncertain: false, via };
      this.changes.set(change.id, entry);
      this.ids.push(change.id);
    } else if (change.version >= entry.version) {
      entry.status = change.status;
      entry.version = change.version;
    }
    if (approvalId) entry.approvals.add(approvalId);
    return entry;
  }

  /** A write to this change whose outcome is unknown. */
  uncertain(id) {
    const entry = this.changes.get(id);
    if (entry) entry.uncertain = true;
  }

  randomId() {
    return this.ids[Math.floor(Math.random() * this.ids.length)];
  }
}

// ---------------------------------------------------------------------------------------------
// The mix

/** Operation kinds and their weights (percent of picks); writes fall back to a create when the
 * client has nothing to submit or approve. */
export const MIX = [
  ['read.get_change', 18],
  ['read.list_50', 10],
  ['read.kpis', 6],
  ['write.create', 8],
  ['write.create_idem', 5],
  ['write.submit', 12],
  ['write.approve', 14],
  ['mcp.get_change_status', 12],
  ['mcp.list_changes', 5],
  ['mcp.create_change_request', 10],
];
const MIX_TOTAL = MIX.reduce((a, [, w]) => a + w, 0);
function pickKind(r) {
  let left = r;
  for (const [kind, weight] of MIX) {
    left -= weight;
    if (left < 0) return kind;
  }
  return MIX[0][0];
}
/** Share of idempotent creates that are sent a second time with the same key (a client retry). */
const REPLAY_SHARE = 0.5;

const SERVICES = ['api', 'db', 'cache', 'web', 'queue', 'auth', 'search'];
const LEVELS = ['LOW', 'LOW', 'MEDIUM', 'HIGH'];
const pick = (xs) => xs[Math.floor(Math.random() * xs.length)];

function changeInput(clientId, n) {
  const services = [...new Set([pick(SERVICES), pick(SERVICES)])];
  const standard = Math.random() < 0.15;
  return {
    title: `Load change ${clientId}-${n}`,
    description: `Created by the load test (client ${clientId}, #${n})`,
    type: standard ? 'STANDARD' : 'NORMAL',
    impact: standard ? 'LOW' : pick(LEVELS),
    urgency: standard ? 'LOW' : pick(LEVELS),
    affectedServices: services,
    backoutPlan: 'Roll back the deployment',
    testPlan: 'Smoke tests pass',
  };
}

const isUncertain = (out) =>
  out.error && (out.error.category === 'network' || (out.status ?? 0) >= 500 || out.status === undefined);

/**
 * One client: at most one request in flight at a time. It owns the lifecycle of the changes it
 * creates (submit, then approvals), so that no two clients write the same change and each
 * change's last acknowledged write is its expected state. `run` loops until `deadline`
 * (performance.now()); the client keeps its drafts and pending approvals between runs (warm-up,
 * then the measured run).
 */
export function createClient({ id: clientId, transport, tokens, ledger, runId }) {
  const { graphql, mcpTool } = transport;
  const requester = tokens.requesters[clientId];
  const drafts = []; // { id, version }
  const pending = []; // { id, voted: Set<approverIndex> }
  let n = 0;
  let keyN = 0;
  let recorder = new Recorder();
  let deadline = 0;
  const timed = async (kind, fn) => {
    const t = performance.now();
    const out = await fn();
    recorder.record(kind, performance.now() - t, out.ok ? null : out.error);
    // A polite client waits as told when it is throttled (at most 2 s, never past the deadline).
    if (out.error?.category === 'rate_limited') {
      const retryAfter = Number(out.headers?.get('retry-after') ?? 1) * 1000;
      const wait = Math.min(retryAfter || 1000, 2000, deadline - performance.now());
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    return out;
  };

  const noteCreated = (out, via) => {
    const c = out.data;
    ledger.ack(c, { via });
    drafts.push({ id: c.id, version: c.version });
    return c;
  };

  async function create(kind) {
    n++;
    const input = changeInput(clientId, n);
    if (kind === 'write.create') {
      const out = await timed(kind, () => graphql(requester, DOCS.create, { input }));
      if (out.ok) noteCreated({ data: out.data.createChangeRequest }, 'graphql');
      else if (isUncertain(out)) ledger.uncertainCreates++;
      return;
    }
    const key = `load-${runId}-${clientId}-${++keyN}`;
    if (kind === 'write.create_idem') {
      const send = () => graphql(requester, DOCS.create, { input }, { headers: { 'Idempotency-Key': key } });
      const out = await timed(kind, send);
      if (!out.ok) {
        if (isUncertain(out)) ledger.uncertainCreates++;
        return;
      }
      const created = noteCreated({ data: out.data.createChangeRequest }, 'graphql+key');
      if (Math.random() >= REPLAY_SHARE || performance.now() >= deadline) return;
      const again = await timed('write.create_replay', send);
      if (!again.ok) return;
      const replayed = again.headers.get('idempotent-replayed') === 'true';
      const sameId = again.data.createChangeRequest.id === created.id;
      if (!sameId || !replayed) {
        recorder.error('write.create_replay', {
          category: 'check',
          key: sameId ? 'replay not marked Idempotent-Replayed' : 'replay created a second change',
          message: `key ${key}: first ${created.id}, replay ${again.data.createChangeRequest.id}`,
        });
        if (!sameId) ledger.ack(again.data.createChangeRequest, { via: 'graphql+key (duplicate)' });
      }
      return;
    }
    // MCP create_change_request; every other one carries an idempotencyKey and is replayed.
    const withKey = n % 2 === 0;
    const args = withKey ? { input, idempotencyKey: key } : { input };
    const send = () => mcpTool(requester, 'create_change_request', args);
    const out = await timed(kind, send);
    if (!out.ok) {
      if (isUncertain(out)) ledger.uncertainCreates++;
      return;
    }
    const created = noteCreated(out, withKey ? 'mcp+key' : 'mcp');
    if (!withKey || Math.random() >= REPLAY_SHARE || performance.now() >= deadline) return;
    const again = await timed('mcp.create_replay', send);
    if (again.ok && again.data.id !== created.id) {
      recorder.error('mcp.create_replay', {
        category: 'check',
        key: 'replay created a second change',
        message: `key ${key}: first ${created.id}, replay ${again.data.id}`,
      });
      ledger.ack(again.data, { via: 'mcp+key (duplicate)' });
    }
  }

  async function submit() {
    const d = drafts.shift();
    const out = await timed('write.submit', () =>
      graphql(requester, DOCS.submit, { id: d.id, expectedVersion: d.version }),
    );
    if (!out.ok) {
      if (isUncertain(out)) ledger.uncertain(d.id);
      return;
    }
    const c = out.data.submitChange;
    ledger.ack(c);
    if (c.status === 'PENDING_APPROVAL') pending.push({ id: c.id, voted: new Set() });
  }

  async function approve() {
    const p = pending[0];
    const approverIndex = [0, 1, 2].find((i) => !p.voted.has(i));
    const out = await timed('write.approve', () =>
      graphql(tokens.approvers[approverIndex], DOCS.approve, { id: p.id, comment: 'Load test vote' }),
    );
    p.voted.add(approverIndex);
    if (!out.ok) {
      pending.shift();
      if (isUncertain(out)) ledger.uncertain(p.id);
      return;
    }
    const r = out.data.approveChange;
    ledger.ack(r.change, { approvalId: r.approval.id });
    if (r.change.status !== 'PENDING_APPROVAL' || p.voted.size >= 3) pending.shift();
  }

  /** A read of a change someone acknowledged: it must be at least as new as that acknowledgement. */
  function checkFresh(kind, id, known, got) {
    if (!got || got.id !== id || got.version < known.version) {
      recorder.error(kind, {
        category: 'check',
        key: 'stale read (older than an acknowledged write)',
        message: `${id}: acknowledged v${known.version} ${known.status}, read ${got ? `${got.id} v${got.version} ${got.status}` : 'nothing'}`,
      });
    }
  }

  async function readOne(kind) {
    const id = ledger.randomId();
    const known = { ...ledger.changes.get(id) };
    if (kind === 'read.get_change') {
      const out = await timed(kind, () => graphql(tokens.viewer, DOCS.getChange, { id }));
      if (out.ok) checkFresh(kind, id, known, out.data.change);
    } else {
      const out = await timed(kind, () => mcpTool(tokens.viewer, 'get_change_status', { id }));
      if (out.ok) checkFresh(kind, id, known, out.data?.id ? out.data : out.data?.change);
    }
  }

  const ops = {
    'read.get_change': () => readOne('read.get_change'),
    'read.list_50': () => timed('read.list_50', () => graphql(tokens.viewer, DOCS.list50)),
    'read.kpis': () => timed('read.kpis', () => graphql(tokens.viewer, DOCS.kpis)),
    'write.create': () => create('write.create'),
    'write.create_idem': () => create('write.create_idem'),
    'write.submit': () => (drafts.length ? submit() : create('write.create')),
    'write.approve': () => (pending.length ? approve() : drafts.length ? submit() : create('write.create')),
    'mcp.get_change_status': () => readOne('mcp.get_change_status'),
    'mcp.list_changes': () =>
      timed('mcp.list_changes', () => mcpTool(tokens.viewer, 'list_changes', { first: 20 })),
    'mcp.create_change_request': () => create('mcp.create_change_request'),
  };

  async function run(opts) {
    recorder = opts.recorder;
    deadline = opts.deadline;
    while (performance.now() < deadline) {
      const kind = pickKind(Math.random() * MIX_TOTAL);
      // Reads need something acknowledged to read.
      await (ledger.ids.length || kind.includes('create') ? ops[kind]() : create('write.create'));
    }
  }

  return { run };
}

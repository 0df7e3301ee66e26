// The client side of `npm run load` (bench/load.mjs): HTTP calls to /graphql and /mcp that classify
// every outcome, the operation mix one client runs, the recorder of latencies and errors, and the
// ledger of acknowledged writes that the checks read back afterwards. Plain fetch, nothing
// runtime-specific: the same code drives `wrangler dev` and the Node runtime.
import { randomUUID } from 'node:crypto';
import { parse, print } from 'graphql';
import {
  LoadApproveDocument,
  LoadAuditHeadDocument,
  LoadCreateDocument,
  LoadGetChangeDocument,
  LoadKpisDocument,
  LoadList50Document,
  LoadReadBackDocument,
  LoadReadOneDocument,
  LoadSubmitDocument,
  LoadTotalDocument,
  LoadVerifyChainDocument,
} from '../operations.generated.ts';
import { percentile } from './lib.mjs';

/**
 * @template TResult, TVariables
 * @typedef {import('@graphql-typed-document-node/core').TypedDocumentNode<TResult, TVariables>} TypedDocumentNode
 */
/** @typedef {{ category: string, key: string, message: string }} OutcomeError */
/**
 * What every call resolves to (it never throws): the data, or an error with the HTTP status and
 * headers when there was a response.
 * @template T
 * @typedef {{ ok: true, data: T, status: number, headers: Headers, error?: undefined }
 *   | { ok: false, error: OutcomeError, status?: number, headers?: Headers, data?: undefined }} Outcome
 */
/** @typedef {{ id: string, status: string, version: number }} ChangeState */

export const MCP_PROTOCOL_VERSION = '2025-11-25';

// ---------------------------------------------------------------------------------------------
// Documents: the operations of load.graphql, typed by `npm run codegen`.

/**
 * Documents of the checks added for issue 17 (contention, audit matching), typed by hand here
 * rather than in load.graphql, so that the generated artefacts stay as they are.
 * @type {{
 *   update: TypedDocumentNode<{ updateChangeRequest: ChangeState & { title: string } }, { id: string, expectedVersion: number, input: { title: string } }>,
 *   readTitle: TypedDocumentNode<{ change: ChangeState & { title: string } }, { id: string }>,
 *   auditPage: TypedDocumentNode<{ auditLog: { nodes: { seq: number, action: string, targetId: string }[], pageInfo: { hasNextPage: boolean, endCursor: string | null } } }, { after: string | null }>,
 * }}
 */
export const CHECK_DOCS = {
  update: /** @type {any} */ (
    parse(`mutation LoadContendUpdate($id: ID!, $expectedVersion: Int, $input: UpdateChangeRequestInput!) {
  updateChangeRequest(id: $id, expectedVersion: $expectedVersion, input: $input) { id status version title }
}`)
  ),
  readTitle: /** @type {any} */ (
    parse('query LoadContendRead($id: ID!) { change(id: $id) { id status version title } }')
  ),
  auditPage: /** @type {any} */ (
    parse(`query LoadAuditPage($after: String) {
  auditLog(first: 200, after: $after, detail: SUMMARY) { nodes { seq action targetId } pageInfo { hasNextPage endCursor } }
}`)
  ),
};

/**
 * While the server is down on purpose (bench/load.mjs kills and restarts it), network failures
 * are the outage, not errors: the recorder counts them apart, and clients pause briefly.
 */
export const outage = { active: false };

export const DOCS = {
  getChange: LoadGetChangeDocument,
  list50: LoadList50Document,
  kpis: LoadKpisDocument,
  create: LoadCreateDocument,
  submit: LoadSubmitDocument,
  approve: LoadApproveDocument,
  readBack: LoadReadBackDocument,
  total: LoadTotalDocument,
  readOne: LoadReadOneDocument,
  verifyChain: LoadVerifyChainDocument,
  auditHead: LoadAuditHeadDocument,
};

/** Each document's text, printed once (the client's own CPU is shared with the server's). */
const texts = new WeakMap();
/** @param {import('graphql').DocumentNode} document */
const textOf = (document) => {
  let text = texts.get(document);
  if (text === undefined) {
    text = print(document);
    texts.set(document, text);
  }
  return /** @type {string} */ (text);
};

// ---------------------------------------------------------------------------------------------
// Transport: every call resolves to an outcome, never throws.

/**
 * An outcome is `{ ok, status, data, headers, error }`; `error`, when set, is
 * `{ category, key, message }` where category is one of rate_limited, http, graphql, jsonrpc,
 * tool, network, check.
 * @param {string} category
 * @param {string} key
 * @param {unknown} message
 * @param {{ status?: number, headers?: Headers }} [extra]
 * @returns {Outcome<never>}
 */
const failure = (category, key, message, extra = {}) => ({
  ok: false,
  error: { category, key, message: String(message ?? '').slice(0, 300) },
  ...extra,
});

const networkFailure = (/** @type {unknown} */ e) => {
  const err =
    /** @type {{ name?: string, message?: string, cause?: { code?: string, message?: string } }} */ (e ?? {});
  const code = err.name === 'TimeoutError' ? 'timeout' : (err.cause?.code ?? err.name ?? 'error');
  return failure(outage.active ? 'outage' : 'network', `network ${code}`, err.cause?.message ?? err.message);
};

/**
 * A GraphQL or JSON-RPC response body as JSON (the last one of an SSE stream), or null.
 * @param {Response} res
 * @returns {Promise<unknown>}
 */
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

/** @typedef {{ data?: unknown, errors?: { message?: string, extensions?: { code?: string } }[] }} GraphQLBody */
/**
 * @typedef {{
 *   result?: { isError?: boolean, content?: { text?: string }[], structuredContent?: unknown },
 *   error?: { code?: number, message?: string },
 * }} JsonRpcBody
 */

/** @param {{ baseUrl: string, timeoutMs?: number }} options */
export function createTransport({ baseUrl, timeoutMs = 30_000 }) {
  const graphqlUrl = `${baseUrl}/graphql`;
  const mcpUrl = `${baseUrl}/mcp`;

  /**
   * POST /graphql; `headers` adds e.g. Idempotency-Key.
   * @template TResult, TVariables
   * @param {string} token
   * @param {TypedDocumentNode<TResult, TVariables>} document
   * @param {TVariables} [variables]
   * @param {{ headers?: Record<string, string>, timeout?: number }} [options]
   * @returns {Promise<Outcome<TResult>>}
   */
  async function graphql(token, document, variables, { headers = {}, timeout = timeoutMs } = {}) {
    /** @type {Response} */
    let res;
    /** @type {GraphQLBody | null} */
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
        body: JSON.stringify({ query: textOf(document), variables: variables ?? {} }),
        signal: AbortSignal.timeout(timeout),
      });
      body = /** @type {GraphQLBody | null} */ (await readBody(res));
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
    // The response to this document: its shape is the document's result type.
    return { ok: true, data: /** @type {TResult} */ (body.data), ...base };
  }

  /**
   * MCP `tools/call` over stateless Streamable HTTP (no initialize needed); the data is the tool's
   * structuredContent, for the caller to check.
   * @param {string} token
   * @param {string} name
   * @param {Record<string, unknown>} args
   * @returns {Promise<Outcome<unknown>>}
   */
  async function mcpTool(token, name, args) {
    /** @type {Response} */
    let res;
    /** @type {JsonRpcBody | null} */
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
      body = /** @type {JsonRpcBody | null} */ (await readBody(res));
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
      /** @type {{ code?: string, message?: string }} */
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

/**
 * @typedef {object} KindRecord
 * @property {number} count
 * @property {number} ok
 * @property {number[]} latencies
 * @property {Map<string, number>} errors `category|key` → count
 * @property {Map<string, string[]>} samples `category|key` → up to three messages
 * @property {number} [checkFailures]
 */
/** @typedef {{ p50: number | null, p90: number | null, p99: number | null, max: number | null, mean: number | null }} LatencySummary */
/** @typedef {{ requests: number, ok: number, opsPerSecond: number | null, latencyMs: LatencySummary }} KindSummary */
/**
 * @typedef {object} ErrorSummary
 * @property {number} total
 * @property {number} rateLimited
 * @property {number} outage network failures while the server was down on purpose
 * @property {number} other
 * @property {Record<string, number>} byCategory
 * @property {Record<string, Record<string, { category: string, count: number, samples: string[] | undefined }>>} byKind
 */

export class Recorder {
  constructor() {
    /** @type {Map<string, KindRecord>} */
    this.kinds = new Map();
  }

  /** @param {string} kind */
  #kind(kind) {
    let k = this.kinds.get(kind);
    if (!k) {
      k = { count: 0, ok: 0, latencies: [], errors: new Map(), samples: new Map() };
      this.kinds.set(kind, k);
    }
    return k;
  }

  /**
   * One finished request: its latency and, when it failed, its error.
   * @param {string} kind
   * @param {number} ms
   * @param {OutcomeError | null | undefined} error
   */
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

  /**
   * An error that is not a request of its own (a failed check on a response that was 200).
   * @param {string} kind
   * @param {OutcomeError} error
   */
  error(kind, error, standalone = true) {
    const k = this.#kind(kind);
    const key = `${error.category}|${error.key}`;
    k.errors.set(key, (k.errors.get(key) ?? 0) + 1);
    if (standalone) k.checkFailures = (k.checkFailures ?? 0) + 1;
    const samples = k.samples.get(key) ?? [];
    if (samples.length < 3) samples.push(error.message);
    k.samples.set(key, samples);
  }

  /** @param {number} elapsedSeconds */
  summary(elapsedSeconds) {
    /** @type {Record<string, KindSummary>} */
    const byKind = {};
    let total = 0;
    let ok = 0;
    /** @type {number[]} */
    const all = [];
    /** @type {ErrorSummary} */
    const errors = { total: 0, rateLimited: 0, outage: 0, other: 0, byCategory: {}, byKind: {} };
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
        const [category = '', label = ''] = key.split('|');
        errors.total += n;
        if (category === 'rate_limited') errors.rateLimited += n;
        else if (category === 'outage') errors.outage += n;
        else errors.other += n;
        errors.byCategory[category] = (errors.byCategory[category] ?? 0) + n;
        const ofKind = errors.byKind[kind] ?? {};
        errors.byKind[kind] = ofKind;
        ofKind[label] = { category, count: n, samples: k.samples.get(key) };
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

const round = (/** @type {number} */ x, digits = 2) =>
  Number.isFinite(x) ? Number(x.toFixed(digits)) : null;

/**
 * @param {number[]} sorted
 * @returns {LatencySummary}
 */
function latencySummary(sorted) {
  if (!sorted.length) return { p50: null, p90: null, p99: null, max: null, mean: null };
  return {
    p50: round(percentile(sorted, 50)),
    p90: round(percentile(sorted, 90)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1] ?? Number.NaN),
    mean: round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
  };
}

// ---------------------------------------------------------------------------------------------
// Ledger: what the server acknowledged, per change.

/**
 * @typedef {object} Acknowledged
 * @property {string} status
 * @property {number} version
 * @property {Set<string>} approvals
 * @property {boolean} uncertain
 * @property {string | undefined} via
 */

export class Ledger {
  constructor() {
    /** @type {Map<string, Acknowledged>} */
    this.changes = new Map();
    /** @type {string[]} */
    this.ids = [];
    this.acknowledgedWrites = 0;
    /** Creates whose outcome is unknown (network error, 5xx): they may or may not have landed. */
    this.uncertainCreates = 0;
    /** Every write whose outcome is unknown (creates included): each may have left an audit event. */
    this.uncertainWrites = 0;
    /** The audit event each acknowledged write must have left (bench/loadVerdict.mjs matchAudit). */
    /** @type {import('./loadVerdict.mjs').ExpectedEvent[]} */
    this.expected = [];
    /** The changes every client writes (contention): each acknowledged write, in order. */
    /** @type {Map<string, { acks: { version: number, title: string }[], uncertain: boolean }>} */
    this.shared = new Map();
    /** Writes to shared changes refused with a version conflict (the race, caught). */
    this.conflicts = 0;
  }

  /**
   * The audit event an acknowledged write must have left.
   * @param {string} targetId
   * @param {string} action exact, or a prefix ending with '*'
   */
  expect(targetId, action) {
    this.expected.push({ targetId, action });
  }

  /** A write of unknown outcome that had no change to mark (a create). */
  uncertainCreate() {
    this.uncertainCreates++;
    this.uncertainWrites++;
  }

  /**
   * A write the server acknowledged with this state of the change.
   * @param {ChangeState} change
   * @param {{ via?: string, approvalId?: string }} [options]
   */
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

  /**
   * A write to this change whose outcome is unknown.
   * @param {string} id
   */
  uncertain(id) {
    this.uncertainWrites++;
    const entry = this.changes.get(id);
    if (entry) entry.uncertain = true;
    const shared = this.shared.get(id);
    if (shared) shared.uncertain = true;
  }

  /** One acknowledged change's id, at random (there must be one). */
  randomId() {
    const id = this.ids[Math.floor(Math.random() * this.ids.length)];
    if (id === undefined) throw new Error('no acknowledged change to pick');
    return id;
  }
}

// ---------------------------------------------------------------------------------------------
// The mix

/** Operation kinds and their weights (percent of picks); writes fall back to a create when the
 * client has nothing to submit or approve. */
/** @type {[string, number][]} */
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
  ['write.contend', 12],
];
const MIX_TOTAL = MIX.reduce((a, [, w]) => a + w, 0);
/** @param {number} r */
function pickKind(r) {
  let left = r;
  for (const [kind, weight] of MIX) {
    left -= weight;
    if (left < 0) return kind;
  }
  return 'read.get_change';
}
/** Share of idempotent creates that are sent a second time with the same key (a client retry). */
const REPLAY_SHARE = 0.5;

const SERVICES = ['api', 'db', 'cache', 'web', 'queue', 'auth', 'search'];
/** @type {import('../operations.generated.ts').Level[]} */
const LEVELS = ['LOW', 'LOW', 'MEDIUM', 'HIGH'];
/**
 * @template T
 * @param {readonly T[]} xs a non-empty list
 */
const pick = (xs) => /** @type {T} */ (xs[Math.floor(Math.random() * xs.length)]);

/**
 * @param {number} clientId
 * @param {number} n
 * @returns {import('../operations.generated.ts').CreateChangeRequestInput}
 */
function changeInput(clientId, n) {
  const services = [...new Set([pick(SERVICES), pick(SERVICES)])];
  // About 15% of creates are low-risk changes (one approval). A STANDARD change can only be raised
  // from a standard change template (createChangeFromTemplate), which this mix does not exercise.
  const lowRisk = Math.random() < 0.15;
  return {
    title: `Load change ${clientId}-${n}`,
    description: `Created by the load test (client ${clientId}, #${n})`,
    type: 'NORMAL',
    impact: lowRisk ? 'LOW' : pick(LEVELS),
    urgency: lowRisk ? 'LOW' : pick(LEVELS),
    affectedServices: services,
    backoutPlan: 'Roll back the deployment',
    testPlan: 'Smoke tests pass',
  };
}

/**
 * The change in a tool's structuredContent (the change itself, or under `change`), or null.
 * @param {unknown} data
 * @returns {ChangeState | null}
 */
function changeIn(data) {
  if (typeof data !== 'object' || data === null) return null;
  const x = /** @type {{ id?: unknown, status?: unknown, version?: unknown, change?: unknown }} */ (data);
  if (typeof x.id === 'string' && typeof x.status === 'string' && typeof x.version === 'number')
    return { id: x.id, status: x.status, version: x.version };
  return x.change === undefined ? null : changeIn(x.change);
}

/** A connection refused never reached the server: that write certainly did not happen. */
const refused = (/** @type {OutcomeError} */ error) => error.key === 'network ECONNREFUSED';

const isUncertain = (/** @type {Outcome<unknown>} */ out) =>
  out.error &&
  !refused(out.error) &&
  (out.error.category === 'network' ||
    out.error.category === 'outage' ||
    (out.status ?? 0) >= 500 ||
    out.status === undefined);

/**
 * One client: at most one request in flight at a time. It owns the lifecycle of the changes it
 * creates (submit, then approvals), so that no two clients write the same change and each
 * change's last acknowledged write is its expected state. `run` loops until `deadline`
 * (performance.now()); the client keeps its drafts and pending approvals between runs (warm-up,
 * then the measured run).
 * @param {{
 *   id: number,
 *   transport: ReturnType<typeof createTransport>,
 *   tokens: { requesters: string[], approvers: string[], viewer: string, admin: string, contender?: string },
 *   ledger: Ledger,
 *   runId: string,
 * }} options
 */
export function createClient({ id: clientId, transport, tokens, ledger, runId }) {
  const { graphql, mcpTool } = transport;
  const requester =
    tokens.requesters[clientId] ??
    (() => {
      throw new Error(`no requester token for client ${clientId}`);
    })();
  /** @type {{ id: string, version: number }[]} */
  const drafts = [];
  /** @type {{ id: string, voted: Set<number> }[]} */
  const pending = [];
  let n = 0;
  let keyN = 0;
  let recorder = new Recorder();
  let deadline = 0;
  /**
   * @template T
   * @param {string} kind
   * @param {() => Promise<Outcome<T>>} fn
   */
  const timed = async (kind, fn) => {
    const t = performance.now();
    const out = await fn();
    recorder.record(kind, performance.now() - t, out.ok ? null : out.error);
    // The server is down on purpose: wait for it rather than spin on refused connections.
    if (out.error?.category === 'outage') await new Promise((r) => setTimeout(r, 50));
    // A polite client waits as told when it is throttled (at most 2 s, never past the deadline).
    if (out.error?.category === 'rate_limited') {
      const retryAfter = Number(out.headers?.get('retry-after') ?? 1) * 1000;
      const wait = Math.min(retryAfter || 1000, 2000, deadline - performance.now());
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    return out;
  };

  /** @type {(c: ChangeState, via: string) => ChangeState} */
  const noteCreated = (c, via) => {
    ledger.ack(c, { via });
    ledger.expect(c.id, 'change.created');
    drafts.push({ id: c.id, version: c.version });
    return c;
  };

  /** @param {string} kind */
  async function create(kind) {
    n++;
    const input = changeInput(clientId, n);
    if (kind === 'write.create') {
      const out = await timed(kind, () => graphql(requester, DOCS.create, { input }));
      if (out.ok) noteCreated(out.data.createChangeRequest, 'graphql');
      else if (isUncertain(out)) ledger.uncertainCreate();
      return;
    }
    const key = `load-${runId}-${clientId}-${++keyN}`;
    if (kind === 'write.create_idem') {
      const send = () => graphql(requester, DOCS.create, { input }, { headers: { 'Idempotency-Key': key } });
      const out = await timed(kind, send);
      if (!out.ok) {
        if (isUncertain(out)) ledger.uncertainCreate();
        return;
      }
      const created = noteCreated(out.data.createChangeRequest, 'graphql+key');
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
        if (!sameId) {
          ledger.ack(again.data.createChangeRequest, { via: 'graphql+key (duplicate)' });
          ledger.expect(again.data.createChangeRequest.id, 'change.created');
        }
      }
      return;
    }
    // MCP create_change_request; every other one carries an idempotencyKey and is replayed.
    const withKey = n % 2 === 0;
    const args = withKey ? { input, idempotencyKey: key } : { input };
    const send = () => mcpTool(requester, 'create_change_request', args);
    const out = await timed(kind, send);
    if (!out.ok) {
      if (isUncertain(out)) ledger.uncertainCreate();
      return;
    }
    const answered = changeIn(out.data);
    if (!answered) {
      recorder.error(kind, { category: 'check', key: 'tool answer without a change', message: key });
      return;
    }
    const created = noteCreated(answered, withKey ? 'mcp+key' : 'mcp');
    if (!withKey || Math.random() >= REPLAY_SHARE || performance.now() >= deadline) return;
    const again = await timed('mcp.create_replay', send);
    const replayed = again.ok ? changeIn(again.data) : null;
    if (replayed && replayed.id !== created.id) {
      recorder.error('mcp.create_replay', {
        category: 'check',
        key: 'replay created a second change',
        message: `key ${key}: first ${created.id}, replay ${replayed.id}`,
      });
      ledger.ack(replayed, { via: 'mcp+key (duplicate)' });
      ledger.expect(replayed.id, 'change.created');
    }
  }

  async function submit() {
    const d = drafts.shift();
    if (!d) return;
    const out = await timed('write.submit', () =>
      graphql(requester, DOCS.submit, { id: d.id, expectedVersion: d.version }),
    );
    if (!out.ok) {
      if (isUncertain(out)) ledger.uncertain(d.id);
      return;
    }
    const c = out.data.submitChange;
    ledger.ack(c);
    ledger.expect(c.id, 'change.submitted*');
    if (c.status === 'PENDING_APPROVAL') pending.push({ id: c.id, voted: new Set() });
  }

  async function approve() {
    const p = pending[0];
    if (!p) return;
    // At most three votes are cast on a change before it leaves `pending`.
    const approverIndex = [0, 1, 2].find((i) => !p.voted.has(i)) ?? 0;
    const approver = /** @type {string} */ (tokens.approvers[approverIndex]);
    const out = await timed('write.approve', () =>
      graphql(approver, DOCS.approve, { id: p.id, comment: 'Load test vote' }),
    );
    p.voted.add(approverIndex);
    if (!out.ok) {
      pending.shift();
      if (isUncertain(out)) ledger.uncertain(p.id);
      return;
    }
    const r = out.data.approveChange;
    ledger.ack(r.change, { approvalId: r.approval.id });
    ledger.expect(r.change.id, 'change.approval_recorded');
    ledger.expect(r.approval.id, 'approval.created');
    if (r.change.status !== 'PENDING_APPROVAL' || p.voted.size >= 3) pending.shift();
  }

  /**
   * A read of a change someone acknowledged: it must be at least as new as that acknowledgement.
   * @param {string} kind
   * @param {string} id
   * @param {{ status?: string, version?: number }} known
   * @param {ChangeState | null | undefined} got
   */
  function checkFresh(kind, id, known, got) {
    if (!got || got.id !== id || got.version < (known.version ?? 0)) {
      recorder.error(kind, {
        category: 'check',
        key: 'stale read (older than an acknowledged write)',
        message: `${id}: acknowledged v${known.version} ${known.status}, read ${got ? `${got.id} v${got.version} ${got.status}` : 'nothing'}`,
      });
    }
  }

  /** @param {string} kind */
  async function readOne(kind) {
    const id = ledger.randomId();
    const known = { ...ledger.changes.get(id) };
    if (kind === 'read.get_change') {
      const out = await timed(kind, () => graphql(tokens.viewer, DOCS.getChange, { id }));
      if (out.ok) checkFresh(kind, id, known, out.data.change);
    } else {
      const out = await timed(kind, () => mcpTool(tokens.viewer, 'get_change_status', { id }));
      if (out.ok) checkFresh(kind, id, known, changeIn(out.data));
    }
  }

  /**
   * Contention: read a shared change's version, then edit it with that expectedVersion. Other
   * clients race for the same changes: a version conflict is the race caught (counted, not an
   * error); an acknowledged write is recorded with its version and title, so that a silent
   * overwrite (two writes acknowledged at one version) or a lost write shows in the checks.
   */
  async function contend() {
    const ids = [...ledger.shared.keys()];
    const id = ids[Math.floor(Math.random() * ids.length)];
    if (!id || !tokens.contender) return create('write.create');
    const read = await timed('write.contend_read', () =>
      graphql(tokens.contender ?? '', CHECK_DOCS.readTitle, { id }),
    );
    if (!read.ok) return;
    // A little think time between the read and the write, as a person or an agent takes.
    await new Promise((r) => setTimeout(r, Math.random() * 10));
    const title = `Contended by client ${clientId} #${++n}`;
    const t = performance.now();
    const out = await graphql(tokens.contender, CHECK_DOCS.update, {
      id,
      expectedVersion: read.data.change.version,
      input: { title },
    });
    const conflict = !out.ok && out.error.key.includes('CHANGE_VERSION_CONFLICT');
    recorder.record('write.contend', performance.now() - t, out.ok || conflict ? null : out.error);
    if (conflict) {
      ledger.conflicts++;
      return;
    }
    if (!out.ok) {
      if (isUncertain(out)) ledger.uncertain(id);
      return;
    }
    const c = out.data.updateChangeRequest;
    ledger.ack(c);
    ledger.expect(c.id, 'change.updated');
    ledger.shared.get(id)?.acks.push({ version: c.version, title: c.title });
  }

  /** @type {Record<string, () => Promise<unknown>>} */
  const ops = {
    'write.contend': () => contend(),
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

  /** @param {{ recorder: Recorder, deadline: number }} opts */
  async function run(opts) {
    recorder = opts.recorder;
    deadline = opts.deadline;
    while (performance.now() < deadline) {
      const kind = pickKind(Math.random() * MIX_TOTAL);
      const op = ops[kind];
      if (!op) throw new Error(`MIX names ${kind}, which the client does not run`);
      // Reads need something acknowledged to read.
      await (ledger.ids.length || kind.includes('create') ? op() : create('write.create'));
    }
  }

  return { run };
}

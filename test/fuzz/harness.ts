import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { cast, changeInState } from '../helpers/changes';
import {
  type Auth,
  DRAFT_ID,
  type Family,
  type FuzzCase,
  familyCases,
  MUTATION_FIELDS,
  MUTATION_TOOLS,
  PENDING_ID,
  type SignedToken,
} from './generators';

/**
 * Fuzzes the whole HTTP surface of the real worker (routing, auth, rate limits, Yoga, MCP) with
 * generated malformed requests: GraphQL documents, variables, JSON bodies, JSON-RPC messages,
 * headers and methods. Nothing may answer 5xx or crash, every JSON answer parses, every GraphQL
 * error answer carries messages, the worker keeps answering, and nothing is written that should
 * not be.
 *
 * A case is sent by nobody, by a viewer (who may write nothing: that tenant's rows must come out
 * byte for byte as they went in), or, when it names a mutation, by an admin of a second tenant
 * where a write is allowed only as the result of a mutation that answered success.
 *
 * Deterministic: every case is a function of SEED and its index (generators.ts). A failure names
 * its index; to replay it alone, put the index in ONLY and run its family's files.
 *
 * The cases are spread over several small test files (`<family>.<part>.test.ts`) because the
 * workers pool slows down with every request a test file sends through `exports.default.fetch`
 * (its entrypoint wrapper nests one more Proxy around its prototype per request, so the cost of a
 * request grows with the number sent before it, and after a few thousand every request fails with
 * "Maximum call stack size exceeded": cloudflare/workers-sdk#15446). Each file gets a fresh
 * runtime, so 210 requests per file keep the whole run short.
 */
export const SEED = 20_260_417;
export const PER_FAMILY = 420;
export const PARTS = 2;
/** Replay: the indexes of the cases to send (empty: all). */
const ONLY: number[] = [];

const CONCURRENCY = 20;
const PROBE_EVERY = 200;
const REQUEST_TIMEOUT_MS = 15_000;

const TABLES = [
  'users',
  'services',
  'change_requests',
  'change_services',
  'approvals',
  'freeze_windows',
  'audit_events',
  'api_keys',
  'idempotency_keys',
] as const;

interface Side {
  tenant: string;
  viewer: string;
  admin: string;
  draftId: string;
  pendingId: string;
}

interface Failure {
  index: number;
  family: Family | 'liveness';
  auth: Auth;
  label: string;
  problems: string[];
  request: string;
  response: string;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

// ---------------------------------------------------------------------------------------------
// Set-up: a change in DRAFT and one waiting for approval per tenant; tokens that must fail.

/** Valid claims (an hour's lifetime, within JWT_MAX_TTL), so each token below is wrong in one way. */
const signedClaims = () => {
  const iat = Math.floor(Date.now() / 1000);
  return { sub: 'mallory', roles: ['admin'], iat, exp: iat + 3600 };
};

async function sign(payload: Record<string, unknown>, opts: { alg?: string; secret?: string } = {}) {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: opts.alg ?? 'HS256' })
    .sign(new TextEncoder().encode(opts.secret ?? env.JWT_SECRET));
}

/** Tokens signed with fixed claims, each invalid for one reason. */
async function signTokens(tenant: string): Promise<Record<SignedToken, string>> {
  const claims = { ...signedClaims(), tenant };
  const { sub: _sub, ...noSub } = claims;
  const { tenant: _tenant, ...noTenant } = claims;
  return {
    expired: await sign({ ...claims, iat: claims.iat - 7200, exp: claims.iat - 3600 }),
    'not-yet-valid': await sign({ ...claims, nbf: 4_000_000_000 }),
    'no-tenant': await sign(noTenant),
    'no-sub': await sign(noSub),
    'numeric-sub': await sign({ ...claims, sub: 42 }),
    'empty-roles': await sign({ ...claims, roles: [] }),
    'unknown-role': await sign({ ...claims, roles: ['admin', 'root'] }),
    'roles-string': await sign({ ...claims, roles: 'admin' }),
    'tenant-object': await sign({ ...claims, tenant: { id: tenant } }),
    'wrong-secret': await sign(claims, { secret: 'not-the-secret-of-this-worker-0123456789' }),
    'huge-claims': await sign({ ...claims, roles: ['superuser'], pad: 'x'.repeat(30_000) }),
    hs512: await sign(claims, { alg: 'HS512' }),
  };
}

async function side(tenant: string): Promise<Side> {
  const c = await cast(tenant);
  const draft = await changeInState(c, 'DRAFT');
  const pending = await changeInState(c, 'PENDING_APPROVAL');
  return { tenant, viewer: c.viewer, admin: c.admin, draftId: draft.id, pendingId: pending.id };
}

/** Every row of the tenant, table by table, in a stable order. */
async function rowsOf(tenant: string): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const table of TABLES) {
    const { results } = await env.DB.prepare(`SELECT * FROM ${table} WHERE tenant_id = ?1`)
      .bind(tenant)
      .all();
    out[table] = results.map((r) => JSON.stringify(r)).sort();
  }
  return out;
}

const countsOf = async (tenant: string) =>
  Object.fromEntries(Object.entries(await rowsOf(tenant)).map(([t, rows]) => [t, rows.length]));

// ---------------------------------------------------------------------------------------------
// Judging one answer

interface Outcome {
  status: number;
  contentType: string;
  text: string;
}

/** The `data:` payloads of an SSE body. */
function sseData(text: string): string[] {
  return text
    .split(/\r?\n\r?\n/)
    .map((block) =>
      block
        .split(/\r?\n/)
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trimStart())
        .join('\n'),
    )
    .filter((data) => data !== '');
}

/** The JSON parts of a multipart/mixed body (incremental delivery). */
function multipartParts(text: string): string[] {
  return text
    .split(/\r?\n-{3,}[^\r\n]*\r?\n?/)
    .map((part) =>
      part
        .split(/\r?\n\r?\n/)
        .slice(1)
        .join('\n\n')
        .trim(),
    )
    .filter((body) => body.startsWith('{') || body.startsWith('['));
}

/** The decoded messages of an answer, and what is wrong with it. */
export function judge(c: FuzzCase, o: Outcome): { problems: string[]; messages: unknown[] } {
  const problems: string[] = [];
  const messages: unknown[] = [];
  if (o.status >= 500) problems.push(`HTTP ${o.status}`);
  const { pathname } = new URL(`http://cf.test${c.path}`);
  const hasBody = c.method !== 'HEAD' && o.text !== '';
  const parse = (text: string, what: string) => {
    try {
      messages.push(JSON.parse(text));
    } catch {
      problems.push(`${what} does not parse as JSON`);
    }
  };
  if (hasBody && /json/i.test(o.contentType)) parse(o.text, 'the JSON answer');
  else if (hasBody && /text\/event-stream/i.test(o.contentType)) {
    for (const data of sseData(o.text)) parse(data, 'an SSE event');
  } else if (hasBody && /multipart\/mixed/i.test(o.contentType)) {
    for (const part of multipartParts(o.text)) parse(part, 'a multipart part');
  }
  const flat = messages.flatMap((m) => (Array.isArray(m) ? m : [m]));

  if (pathname === '/graphql' && c.method !== 'HEAD' && c.method !== 'OPTIONS') {
    if (o.status >= 400) {
      const first = flat[0];
      if (!isObject(first) || !Array.isArray(first.errors) || first.errors.length === 0) {
        problems.push(`a ${o.status} from /graphql without an errors array`);
      }
    }
    for (const m of flat) {
      if (!isObject(m) || m.errors === undefined) continue;
      if (!Array.isArray(m.errors)) {
        problems.push('"errors" is not an array');
        continue;
      }
      for (const e of m.errors) {
        if (!isObject(e) || typeof e.message !== 'string' || e.message === '') {
          problems.push(`an error without a message: ${JSON.stringify(e).slice(0, 200)}`);
        } else if (isObject(e.extensions) && e.extensions.code === 'INTERNAL') {
          problems.push(`an INTERNAL error: ${e.message}`);
        }
      }
    }
  }

  if (pathname === '/mcp') {
    for (const m of flat) {
      if (!isObject(m)) continue;
      if (isObject(m.error) && m.error.code === -32603) {
        problems.push(`JSON-RPC internal error (-32603): ${String(m.error.message).slice(0, 200)}`);
      }
      const result = m.result;
      if (isObject(result) && result.isError && Array.isArray(result.content)) {
        const text = (result.content[0] as Json | undefined)?.text;
        if (typeof text === 'string' && /"code":"INTERNAL"/.test(text)) {
          problems.push(`a tool error with code INTERNAL: ${text.slice(0, 200)}`);
        }
      }
    }
  }

  if (c.auth === 'own' && (pathname === '/graphql' || pathname === '/mcp') && o.status !== 401) {
    problems.push(`absurd credentials were answered ${o.status}, not 401`);
  }
  return { problems, messages: flat };
}

function snippet(body: string | Uint8Array | undefined, max = 300): string {
  if (body === undefined) return '(none)';
  if (typeof body !== 'string') {
    const hex = [...body.subarray(0, 80)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    return `bytes(${body.length}) ${hex}${body.length > 80 ? ' …' : ''}`;
  }
  return `${JSON.stringify(body.slice(0, max))}${body.length > max ? ` … (${body.length} chars)` : ''}`;
}

function describeRequest(c: FuzzCase): string {
  const headers = Object.fromEntries(
    Object.entries(c.headers).map(([k, v]) => [k, v.length > 80 ? `${v.slice(0, 80)}… (${v.length})` : v]),
  );
  const path = c.path.length > 200 ? `${c.path.slice(0, 200)}… (${c.path.length})` : c.path;
  return `${c.method} ${path} headers=${JSON.stringify(headers)} body=${snippet(c.body)}`;
}

const formatFailure = (f: Failure) =>
  `seed ${SEED} #${f.index} [${f.family}, ${f.auth}] ${f.label}: ${f.problems.join('; ')}\n` +
  `    request: ${f.request}\n    response: ${f.response}`;

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no complete answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

// ---------------------------------------------------------------------------------------------

/** The cases of one file: part `part` (1-based) of `family`. */
export function fuzzFile(family: Family, part: number): void {
  const size = Math.ceil(PER_FAMILY / PARTS);
  const cases = familyCases(SEED, family, PER_FAMILY)
    .slice((part - 1) * size, part * size)
    .filter((c) => ONLY.length === 0 || ONLY.includes(c.index));
  const first = cases[0]?.index ?? 0;
  const last = cases.at(-1)?.index ?? 0;
  const tenant = `fuzz-${family}-${part}`;

  let viewerSide: Side;
  let writerSide: Side;
  const signed = new Map<string, string>();
  let viewerRowsBefore: Record<string, string[]>;
  let writerCountsBefore: Record<string, number>;
  /** The writer's mutations that answered success: the only writes allowed. */
  const writes = { mutations: 0, creates: 0, byName: new Map<string, number>() };
  const statuses = new Map<number, number>();
  const slowest: { ms: number; what: string }[] = [];

  /** The request as sent: placeholders replaced, the token of who sends it added. */
  function materialize(c: FuzzCase): { url: string; init: RequestInit } {
    const s = c.auth === 'writer' ? writerSide : viewerSide;
    const swap = (text: string) =>
      text
        .replaceAll(DRAFT_ID, s.draftId)
        .replaceAll(PENDING_ID, s.pendingId)
        .replace(
          /@@SIGNED:([a-z0-9-]+)@@/g,
          (_m, name: string) => signed.get(name) ?? 'missing-signed-token',
        );
    const headers = Object.fromEntries(Object.entries(c.headers).map(([k, v]) => [k, swap(v)]));
    if (c.auth === 'viewer' || c.auth === 'writer') {
      headers.authorization = `Bearer ${c.auth === 'writer' ? s.admin : s.viewer}`;
    }
    const body = typeof c.body === 'string' ? swap(c.body) : c.body;
    return {
      url: `http://cf.test${swap(c.path)}`,
      init: { method: c.method, headers, ...(body === undefined ? {} : { body }) },
    };
  }

  /** Counts the writer's mutations that answered success. */
  function account(c: FuzzCase, messages: unknown[]) {
    const count = (name: string, create: boolean) => {
      writes.mutations += 1;
      if (create) writes.creates += 1;
      writes.byName.set(name, (writes.byName.get(name) ?? 0) + 1);
    };
    for (const m of messages) {
      if (!isObject(m)) continue;
      if (isObject(m.data)) {
        for (const [field, value] of Object.entries(m.data)) {
          if (MUTATION_FIELDS.has(field) && value !== null) count(field, field === 'createChangeRequest');
        }
      }
      if (c.tool && MUTATION_TOOLS.has(c.tool) && isObject(m.result) && !m.result.isError) {
        count(c.tool, c.tool === 'create_change_request');
      }
    }
  }

  async function sendOne(c: FuzzCase, failures: Failure[]) {
    const { url, init } = materialize(c);
    const fail = (problems: string[], response: string) =>
      failures.push({
        index: c.index,
        family: c.family,
        auth: c.auth,
        label: c.label,
        problems,
        request: describeRequest(c),
        response,
      });
    const started = Date.now();
    let outcome: Outcome;
    try {
      outcome = await within(
        (async () => {
          const res = await exports.default.fetch(url, init);
          const text = await res.text();
          return { status: res.status, contentType: res.headers.get('content-type') ?? '', text };
        })(),
        REQUEST_TIMEOUT_MS,
      );
    } catch (e) {
      fail([`crash: ${String((e as Error)?.message ?? e)}`], '(none)');
      return;
    }
    slowest.push({ ms: Date.now() - started, what: `#${c.index} [${c.auth}] ${c.label.slice(0, 100)}` });
    slowest.sort((a, b) => b.ms - a.ms).splice(5);
    statuses.set(outcome.status, (statuses.get(outcome.status) ?? 0) + 1);
    const { problems, messages } = judge(c, outcome);
    if (problems.length)
      fail(problems, `${outcome.status} ${outcome.contentType} ${snippet(outcome.text, 400)}`);
    if (c.auth === 'writer') account(c, messages);
  }

  /** A valid request that must still succeed: the worker is alive and well. */
  async function probe(): Promise<string | null> {
    try {
      const res = await within(
        exports.default.fetch('http://cf.test/graphql', {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/graphql-response+json',
            authorization: `Bearer ${viewerSide.viewer}`,
          },
          body: JSON.stringify({ query: '{ me { id tenantId } }' }),
        }),
        REQUEST_TIMEOUT_MS,
      );
      const text = await res.text();
      let me: { id?: string; tenantId?: string } | undefined;
      try {
        me = (JSON.parse(text) as { data?: { me?: { id: string; tenantId: string } } }).data?.me;
      } catch {
        // reported below
      }
      if (res.status !== 200 || me?.id !== 'vic' || me.tenantId !== viewerSide.tenant) {
        return `{ me { id } } answered ${res.status}: ${text.slice(0, 300)}`;
      }
      return null;
    } catch (e) {
      return `{ me { id } } failed: ${String((e as Error)?.message ?? e)}`;
    }
  }

  describe(`fuzz ${family}: cases #${first}–#${last} (seed ${SEED})`, () => {
    beforeAll(async () => {
      viewerSide = await side(tenant);
      writerSide = await side(`${tenant}-writer`);
      for (const [name, jwt] of Object.entries(await signTokens(tenant))) signed.set(name, jwt);
      viewerRowsBefore = await rowsOf(viewerSide.tenant);
      writerCountsBefore = await countsOf(writerSide.tenant);
    }, 20_000);

    it(`${cases.length} requests: never a 5xx or a crash, JSON answers parse, GraphQL errors carry messages, the worker keeps answering`, async () => {
      const started = Date.now();
      const failures: Failure[] = [];
      for (let i = 0; i < cases.length; i += PROBE_EVERY) {
        const chunk = cases.slice(i, i + PROBE_EVERY);
        await pool(chunk, CONCURRENCY, (c) => sendOne(c, failures));
        const problem = await probe();
        if (problem) {
          failures.push({
            index: -1,
            family: 'liveness',
            auth: 'viewer',
            label: `after cases #${first}–#${chunk.at(-1)?.index}`,
            problems: [problem],
            request: 'POST /graphql { me { id tenantId } }',
            response: problem,
          });
        }
      }
      const byAuth = Object.fromEntries(
        (['anonymous', 'viewer', 'writer', 'own'] as const).map((a) => [
          a,
          cases.filter((c) => c.auth === a).length,
        ]),
      );
      console.log(
        `seed ${SEED}, ${family} #${first}–#${last}: ${cases.length} requests ${JSON.stringify(byAuth)} in ${Date.now() - started} ms; ` +
          `statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}; ` +
          `writer's successful mutations ${JSON.stringify(Object.fromEntries(writes.byName))}; slowest:\n` +
          slowest.map((s) => `  ${s.ms} ms ${s.what}`).join('\n'),
      );
      failures.sort((a, b) => a.index - b.index);
      expect(failures.map(formatFailure), `${failures.length} failing requests`).toEqual([]);
    }, 45_000);

    it('wrote nothing a request should not have, and the audit chains still verify', async () => {
      expect(await probe()).toBeNull();
      // The viewer's tenant: not one row added, changed or removed.
      expect(await rowsOf(viewerSide.tenant)).toEqual(viewerRowsBefore);
      // The writer's tenant: writes only from mutations that answered success.
      const after = await countsOf(writerSide.tenant);
      const delta = Object.fromEntries(
        TABLES.map((t) => [t, (after[t] ?? 0) - (writerCountsBefore[t] ?? 0)]),
      );
      if (writes.mutations === 0) expect(delta).toEqual(Object.fromEntries(TABLES.map((t) => [t, 0])));
      else expect(delta.audit_events).toBeGreaterThan(0);
      expect(delta.change_requests).toBeLessThanOrEqual(writes.creates);
      for (const s of [viewerSide, writerSide]) {
        const res = await exports.default.fetch('http://cf.test/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${s.admin}` },
          body: JSON.stringify({ query: '{ verifyAuditChain { valid checked brokenAtSeq reason } }' }),
        });
        const body = (await res.json()) as { data?: { verifyAuditChain?: { valid: boolean } } };
        expect(body.data?.verifyAuditChain, s.tenant).toMatchObject({ valid: true });
      }
    });
  });
}

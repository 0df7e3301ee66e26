// A seeded malformed-input run over real sockets (node:http, keep-alive), shared by the wrangler
// dev and the Node runtime tests. Every request must get a complete HTTP response that is not a
// 5xx: early refusals (401, 413, 415, 429, 400) sent while a large or chunked body is still
// arriving must not break the connection. `FUZZ_SEED` replays a run; the seed is always printed.
import { Agent, request as httpRequest } from 'node:http';
import { mulberry32 as prng } from '../helpers/prng.ts';

export const fuzzSeed = () =>
  process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);

const MIB = 1024 * 1024;

/** A body size from 1 byte to 1 MiB, log-uniform (most small, some near the cap and far over). */
const bodySize = (rand) => Math.max(1, Math.min(MIB, Math.round(2 ** (rand() * 20))));

const filler = (size, rand) => {
  const b = Buffer.alloc(size, 0x20);
  // A few bytes of noise so bodies differ; JSON-ish garbage.
  for (let i = 0; i < Math.min(size, 64); i++) b[Math.floor(rand() * size)] = 33 + Math.floor(rand() * 90);
  return b;
};

const query = (q) => Buffer.from(JSON.stringify({ query: q }));
const padded = (q, size) => {
  const base = JSON.stringify({ query: q, extensions: { pad: '' } });
  const pad = Math.max(0, size - base.length);
  return Buffer.from(JSON.stringify({ query: q, extensions: { pad: 'x'.repeat(pad) } }));
};

/**
 * The cases, each a function of the random source and the credentials: what an attacker (or a
 * broken client) sends. `auth.token` is a valid bearer token.
 */
const CASES = [
  // A bad bearer token with a body of any size: 401 (or 413 when over the cap).
  (r) => ({
    name: 'bad-bearer',
    path: '/graphql',
    headers: { 'content-type': 'application/json', authorization: 'Bearer not.a.jwt' },
    body: padded('{ __typename }', bodySize(r)),
  }),
  // A junk API key: 401 before any body is read.
  (r) => ({
    name: 'junk-api-key',
    path: r() < 0.5 ? '/graphql' : '/mcp',
    headers: { 'content-type': 'application/json', 'x-api-key': `cf_junk_${Math.floor(r() * 1e9)}` },
    body: filler(bodySize(r), r),
  }),
  // No credentials at all.
  (r) => ({
    name: 'anonymous',
    path: r() < 0.7 ? '/graphql' : '/mcp',
    headers: { 'content-type': 'application/json' },
    body: padded('{ __typename }', bodySize(r)),
  }),
  // A declared length over the cap: 413 without reading.
  (r, auth) => ({
    name: 'too-large-declared',
    path: r() < 0.5 ? '/graphql' : '/mcp',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${auth.token}` },
    body: filler(100 * 1024 + 1 + Math.floor(r() * (MIB - 100 * 1024)), r),
  }),
  // Chunked bodies of any size (over the cap: 413 at the first byte over).
  (r, auth) => ({
    name: 'chunked',
    path: '/graphql',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${auth.token}` },
    body: r() < 0.3 ? query('{ __typename }') : filler(bodySize(r), r),
    chunked: true,
  }),
  // A chunked body far over the cap, in pieces: refused with 413 while most of it is still coming.
  (r, auth) => ({
    name: 'chunked-over-cap',
    path: r() < 0.7 ? '/graphql' : '/mcp',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${auth.token}` },
    body: filler(200 * 1024 + Math.floor(r() * (MIB - 200 * 1024)), r),
    chunked: true,
  }),
  // Wrong or missing content types: 415 / 400.
  (r, auth) => ({
    name: 'wrong-content-type',
    path: r() < 0.7 ? '/graphql' : '/mcp',
    headers: {
      'content-type': ['text/plain', 'application/xml', 'image/png', 'application/x-www-form-urlencoded', ''][
        Math.floor(r() * 5)
      ],
      authorization: `Bearer ${auth.token}`,
    },
    body: filler(bodySize(r), r),
    chunked: r() < 0.3,
  }),
  // Malformed JSON of any size: 400.
  (r, auth) => ({
    name: 'malformed-json',
    path: '/graphql',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${auth.token}` },
    body: Buffer.concat([Buffer.from('{"query": "{ __typename'), filler(bodySize(r), r)]),
    chunked: r() < 0.3,
  }),
  // Webhooks: malformed paths and unknown hooks, with bodies.
  (r) => ({
    name: 'webhook',
    path: [
      '/hooks/workflows/%',
      '/hooks/workflows/%zz',
      '/hooks/workflows/nope',
      '/hooks/workflows/%E0%A4%A',
    ][Math.floor(r() * 4)],
    headers: { 'content-type': 'application/json' },
    body: filler(bodySize(r), r),
    chunked: r() < 0.3,
  }),
  // A valid small operation (counts against the limit; late in a run it is refused with 429).
  (_r, auth) => ({
    name: 'valid',
    path: '/graphql',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${auth.token}` },
    body: query('{ __typename }'),
  }),
];

for (const make of CASES) make.caseName = make(prng(0), { token: '' }).name;

/** One request over the agent; resolves with its status, or with the error that broke it. */
export function send(baseUrl, agent, c, timeoutMs) {
  return new Promise((resolve) => {
    const url = new URL(c.path, baseUrl);
    let settled = false;
    const done = (outcome) => {
      if (!settled) {
        settled = true;
        resolve(outcome);
      }
    };
    const headers = { ...c.headers };
    if (headers['content-type'] === '') delete headers['content-type'];
    if (!c.chunked) headers['content-length'] = String(c.body.length);
    const req = httpRequest(
      { host: url.hostname, port: url.port, path: c.path, method: 'POST', headers, agent },
      (res) => {
        res.on('data', () => {});
        res.on('end', () => done({ status: res.statusCode }));
        res.on('error', (e) => done({ error: `response: ${e.code ?? e.message}` }));
        res.on('aborted', () => done({ error: 'response aborted' }));
      },
    );
    req.setTimeout(timeoutMs, () => {
      done({ error: 'timeout' });
      req.destroy();
    });
    req.on('error', (e) => done({ error: e.code ?? e.message }));
    if (c.chunked) {
      // A few writes, so the body arrives in pieces while the server may already answer.
      const step = Math.max(1, Math.ceil(c.body.length / 16));
      for (let i = 0; i < c.body.length; i += step) req.write(c.body.subarray(i, i + step));
      req.end();
    } else {
      req.end(c.body);
    }
  });
}

/**
 * Runs `count` requests, `concurrency` at a time over keep-alive sockets; returns the tallies and
 * every failure (a 5xx or a request without a complete response), each with its index and case.
 */
export async function runMalformedInput({
  baseUrl,
  auth,
  seed,
  count = 3000,
  concurrency = 8,
  timeCapMs = 80_000,
  requestTimeoutMs = 15_000,
  only = null,
}) {
  const rand = prng(seed);
  const pool = only ? CASES.filter((make) => only.includes(make.caseName)) : CASES;
  const cases = Array.from({ length: count }, (_, i) => ({
    i,
    ...pool[Math.floor(rand() * pool.length)](rand, auth),
  }));
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const statuses = {};
  const failures = [];
  const started = Date.now();
  let next = 0;
  let sent = 0;
  const worker = async () => {
    while (next < cases.length && Date.now() - started < timeCapMs) {
      const c = cases[next++];
      const outcome = await send(baseUrl, agent, c, requestTimeoutMs);
      sent++;
      if (outcome.error)
        failures.push({
          i: c.i,
          case: c.name,
          path: c.path,
          bytes: c.body.length,
          chunked: !!c.chunked,
          error: outcome.error,
        });
      else {
        statuses[outcome.status] = (statuses[outcome.status] ?? 0) + 1;
        if (outcome.status >= 500)
          failures.push({
            i: c.i,
            case: c.name,
            path: c.path,
            bytes: c.body.length,
            chunked: !!c.chunked,
            status: outcome.status,
          });
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  return { sent, statuses, failures, ms: Date.now() - started };
}

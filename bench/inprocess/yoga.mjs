// ChangeFlow's real request path, in process: createApp(schema).fetch with a Fetch Request, as the
// Worker and the Node server call it. Included: request id and JSON log line, JWT verification,
// body limit, CSRF and media-type checks, query limits (graphql-armor rules and the
// variable-aware cost check), Yoga's parse/validate caches, scope checks in the resolvers, error
// masking, security headers and CORS, and the Node runtime's in-memory rate limiter (the port
// src/runtime/node/runtime.ts passes; BENCH_VARS turns every limit on, high enough that nothing
// is refused). Under bench/inprocess/ablate.mjs the same path runs with one of our plugins off.
import { createApp } from '../../src/http/app.ts';
import { batchedSink } from '../../src/log.ts';
import { memoryRateLimiter } from '../../src/runtime/node/rateLimiter.ts';

/**
 * @param {import('../types.ts').VariantOptions} options
 * @returns {import('../types.ts').Variant}
 */
export function createYogaVariant({ schema, db, vars, tokens }) {
  // Logs as the Node runtime writes them (src/runtime/node/runtime.ts): one stdout write per tick.
  const app = createApp(schema, { logSink: batchedSink((text) => process.stdout.write(text)) });
  const env = { ...vars, DB: db };
  const ports = { rateLimiter: memoryRateLimiter() };
  return {
    name: 'yoga',
    async run(op) {
      const body = JSON.stringify({ query: op.query, variables: op.variables() });
      const res = await app.fetch(
        new Request('http://bench.local/graphql', {
          method: 'POST',
          // Content-Length as every HTTP client sends it (the Node server passes it on): the body
          // limit takes its declared-length path, as it does for real traffic.
          headers: {
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(body)),
            authorization: `Bearer ${tokens[op.token]}`,
          },
          body,
        }),
        env,
        ports,
      );
      return res.text();
    },
  };
}

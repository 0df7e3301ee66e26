// What every peer server gets around its GraphQL engine so that it pays what our request path
// pays outside GraphQL, and no more: a request id, the per-address and per-caller rate limits of
// the Node runtime (src/runtime/node/rateLimiter.ts, the same keys and tiers as src/http/app.ts,
// configured by BENCH_VARS so that nothing is refused), the bearer JWT verified by our verifyJwt,
// our resolver context, and one JSON log line per request through the same batched sink. The
// floors do not get it: they are floors.
import { randomUUID } from 'node:crypto';
import { verifyJwt } from '../../src/auth/jwt.ts';
import { parseConfig } from '../../src/config.ts';
import { batchedSink, createLogger } from '../../src/log.ts';
import { requestKey } from '../../src/ratelimit/policy.ts';
import { memoryRateLimiter } from '../../src/runtime/node/rateLimiter.ts';
import { createRequestContext } from '../../src/usecases/context.ts';

const BEARER = /^Bearer[ ]+(\S+)$/i;

/** A refusal the peer answers with its own error path (it must never happen in the bench). */
export class GateRefusal extends Error {
  /**
   * @param {number} status
   * @param {string} message
   */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * @param {D1Database} db
 * @param {import('../types.ts').BenchVars} vars
 */
export function createGate(db, vars) {
  const config = parseConfig(vars);
  if (!config.rateLimitEnabled) throw new Error('the bench runs with every limiter on');
  const limiter = memoryRateLimiter();
  const logger = createLogger(
    { service: 'changeflow' },
    batchedSink((text) => process.stdout.write(text)),
  );
  return {
    /**
     * Admits one request: its context, and `done(status)` to write its log line.
     * @param {string | undefined} authorization
     * @param {string} [ip] what app.ts reads from CF-Connecting-IP ('unknown' without it)
     */
    async enter(authorization, ip = 'unknown') {
      const started = Date.now();
      const requestId = randomUUID();
      const perIp = await limiter(`ip:${ip}`, config.perIpLimit);
      if (!perIp.allowed) throw new GateRefusal(429, 'rate limited (per address)');
      const token = BEARER.exec(authorization ?? '')?.[1];
      if (!token) throw new GateRefusal(401, 'Authentication required: send "Authorization: Bearer <token>"');
      const principal = await verifyJwt(token, config);
      const { tier, key } = requestKey(principal, ip);
      const decision = await limiter(key, config.rateLimits[tier]);
      if (!decision.allowed) throw new GateRefusal(429, 'rate limited (per caller)');
      return {
        context: createRequestContext({ db, requestId, principal }),
        /** @param {number} status */
        done(status) {
          logger.log('info', 'request', {
            requestId,
            method: 'POST',
            path: '/graphql',
            status,
            durationMs: Date.now() - started,
          });
        },
      };
    },
  };
}

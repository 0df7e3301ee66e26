import type { RateLimiter } from './ratelimit/durableObject';
import type { RateLimiterPort } from './ratelimit/policy';
import { schema } from './schema';
import { type AppBindings, createApp } from './server/app';

export { RateLimiter } from './ratelimit/durableObject';

interface WorkerEnv extends AppBindings {
  RATE_LIMITER: DurableObjectNamespace<RateLimiter>;
}

const app = createApp(schema);

/** A Durable Object per limited key, so the count is exact across isolates. */
export const durableObjectLimiter =
  (ns: DurableObjectNamespace<RateLimiter>): RateLimiterPort =>
  (key, limits) =>
    ns.get(ns.idFromName(key)).check(limits);

export default {
  fetch: (request, env) => app.fetch(request, env, { rateLimiter: durableObjectLimiter(env.RATE_LIMITER) }),
} satisfies ExportedHandler<WorkerEnv>;

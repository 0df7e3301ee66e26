import type { AppPorts } from '../../http/app';
import type { Logger } from '../../log';
import type { MetricsAggregator } from '../../metrics/aggregator';
import { renderPrometheus } from '../../metrics/prometheus';
import type { RateLimiterPort } from '../../ratelimit/policy';
import type { FollowUpsPort } from '../../usecases/outbox';
import type { EventsPort } from '../../usecases/ports/events';
import type { ExecutionsPort } from '../../usecases/ports/executions';
import type { WriteLock } from '../../usecases/ports/writeLock';
import { embeddedAppPages } from './appPages';
import type { LiveHub } from './liveHub';

/** Announces committed changes to the in-process hub; a failing subscriber never fails the mutation. */
export function hubEvents(hub: LiveHub, logger: Logger): EventsPort {
  return {
    publish: (event) => {
      try {
        hub.publish(event);
      } catch (e) {
        logger.log('warn', 'hub publish failed', { error: String(e) });
      }
    },
    publishExecution: (event) => {
      try {
        hub.publishExecution(event);
      } catch (e) {
        logger.log('warn', 'hub publish failed', { error: String(e) });
      }
    },
  };
}

/**
 * The app's ports in one Node process: what Durable Objects provide in a Worker, held in memory
 * here (rate-limit windows, the live hub, the request figures), and the process's own workflow
 * engine in place of Cloudflare Workflows (executions.ts).
 */
export function nodePorts(deps: {
  hub: LiveHub;
  events: EventsPort;
  metrics: MetricsAggregator;
  rateLimiter: RateLimiterPort;
  subscriptions: NonNullable<AppPorts['subscriptions']>;
  /** One process: a tenant's writers queue for its audit chain instead of racing for its head. */
  writeLock: WriteLock;
  followUps: FollowUpsPort;
  executions: ExecutionsPort;
}): AppPorts {
  const { hub, metrics } = deps;
  return {
    rateLimiter: deps.rateLimiter,
    events: deps.events,
    // Outside subscriptions (the liveMetrics query), only the system figures come from the runtime.
    live: { systemFigures: async () => metrics.figures(Date.now()) },
    subscriptions: deps.subscriptions,
    recordRequest: (sample) => metrics.record(sample),
    prometheus: async () => renderPrometheus(metrics),
    hubHealth: () => hub.ping(),
    writeLock: deps.writeLock,
    // A write's follow-ups (outbox) run after its commit; retries by timer (followUps.ts).
    followUps: deps.followUps,
    executions: deps.executions,
    // The MCP Apps' pages are bundled with the server: they never depend on a public/ directory.
    appPages: embeddedAppPages,
  };
}

import type { SystemFigures } from '../metrics/aggregator';
import type { AuthedContext } from './context';
import type { LiveMetrics } from './ports/live';
import { changeKpis } from './reports';

/** What a runtime without a live hub reports of the system: nothing recorded. */
const NO_SYSTEM_FIGURES: SystemFigures = {
  requestsPerMinute: 0,
  latencyP50Ms: null,
  latencyP95Ms: null,
  latencyP99Ms: null,
  errorRate: null,
  toolCalls: [],
  subscriptions: 0,
};

/** The live snapshot: the tenant's change KPIs with the system figures of the last minute. */
export async function liveMetrics(ctx: AuthedContext): Promise<LiveMetrics> {
  const [kpis, system] = await Promise.all([
    changeKpis(ctx),
    ctx.live ? ctx.live.systemFigures() : Promise.resolve(NO_SYSTEM_FIGURES),
  ]);
  return { kpis, system, generatedAt: kpis.generatedAt };
}

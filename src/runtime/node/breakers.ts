import {
  type BreakerState,
  canRequest,
  initialBreaker,
  onOutcome,
  sameBreaker,
} from '../../engine/circuitBreaker';
import type { BreakerPort } from '../../engine/engine';
import type { BreakerSnapshot } from '../../usecases/ports/executions';

/**
 * The circuit breakers of upstream hosts in one Node process, per tenant: what the Worker's
 * BreakerBoard Durable Object keeps, held in memory here (one process is one board). Workflow
 * steps and webhook deliveries go through them. As on the board, a host is listed once its
 * breaker has moved from its initial state.
 */
export function memoryBreakers(settings: { failureThreshold: number; cooldownMs: number }) {
  const boards = new Map<string, Map<string, BreakerSnapshot>>();
  const boardOf = (tenantId: string) => {
    let board = boards.get(tenantId);
    if (!board) {
      board = new Map();
      boards.set(tenantId, board);
    }
    return board;
  };
  const port = (tenantId: string): BreakerPort => {
    const states = boardOf(tenantId);
    const read = (host: string): BreakerState => states.get(host) ?? initialBreaker();
    const write = (host: string, state: BreakerState) => {
      if (!sameBreaker(state, read(host))) states.set(host, { host, ...state, updatedAt: Date.now() });
    };
    return {
      acquire: async (host) => {
        const prev = read(host);
        const gate = canRequest(prev, Date.now(), { cooldownMs: settings.cooldownMs });
        write(host, gate.state);
        return { allowed: gate.allowed, state: prev.state };
      },
      report: async (host, outcome) => {
        write(
          host,
          onOutcome(read(host), outcome, Date.now(), { failureThreshold: settings.failureThreshold }),
        );
      },
    };
  };
  /** Every host of the tenant whose breaker moved, by host name. */
  const list = async (tenantId: string): Promise<BreakerSnapshot[]> =>
    [...boardOf(tenantId).values()].sort((a, b) => a.host.localeCompare(b.host));
  return Object.assign(port, { list });
}

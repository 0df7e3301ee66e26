import {
  type BreakerState,
  canRequest,
  initialBreaker,
  onFailure,
  onSuccess,
} from '../../engine/circuitBreaker';
import type { BreakerPort } from '../../engine/engine';

/**
 * The circuit breakers of upstream hosts in one Node process, per tenant: what the Worker's
 * BreakerBoard Durable Object keeps, held in memory here (one process is one board). Webhook
 * deliveries go through them.
 */
export function memoryBreakers(settings: { failureThreshold: number; cooldownMs: number }) {
  const boards = new Map<string, Map<string, BreakerState>>();
  return (tenantId: string): BreakerPort => {
    let board = boards.get(tenantId);
    if (!board) {
      board = new Map();
      boards.set(tenantId, board);
    }
    const states = board;
    return {
      acquire: async (host) => {
        const prev = states.get(host) ?? initialBreaker();
        const gate = canRequest(prev, Date.now(), { cooldownMs: settings.cooldownMs });
        states.set(host, gate.state);
        return { allowed: gate.allowed, state: prev.state };
      },
      report: async (host, outcome) => {
        const state = states.get(host) ?? initialBreaker();
        if (outcome === 'success') states.set(host, onSuccess(state));
        else if (outcome === 'failure') {
          states.set(host, onFailure(state, Date.now(), { failureThreshold: settings.failureThreshold }));
        } else if (state.state === 'HALF_OPEN') states.set(host, { ...state, halfOpenInFlight: false });
      },
    };
  };
}

import type { EgressSettings } from '../../domain/egress';
import type { BreakerPort } from '../../engine/engine';
import type { SecretKeys } from '../../secrets/envelope';

/**
 * What sending a webhook delivery needs of its runtime (src/usecases/webhooks/deliver.ts): the
 * network, the tenant's per-host circuit breakers, the keys that open endpoint secrets and the
 * deployment's egress exceptions. Each runtime provides one to its outbox drainers.
 */
export interface WebhookTransport {
  fetch: typeof fetch;
  /** The tenant's circuit breakers (shared with its workflow executions in a Worker). */
  breakers(tenantId: string): BreakerPort;
  /** SECRETS_KEY and SECRETS_KEY_PREVIOUS; null: no secret can be opened, deliveries wait. */
  secretKeys: SecretKeys | null;
  egress: EgressSettings;
  /** Outside development only https URLs are delivered to. */
  httpsOnly: boolean;
  /** How long one attempt waits for an answer, ms. */
  timeoutMs: number;
  random(): number;
}

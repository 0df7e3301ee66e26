import type { AuditDigestSettings } from '../config';
import type { AuditSource } from '../db/audit';
import type { IdempotencyScope } from '../db/idempotency';
import { createLoaders, type Loaders } from '../db/loaders';
import { type EgressSettings, STRICT_EGRESS } from '../domain/egress';
import type { Principal } from '../domain/principal';
import { AppError } from '../errors';
import type { SecretKeys } from '../secrets/envelope';
import type { FollowUpsPort } from './outbox';
import type { AuditArchive } from './ports/auditArchive';
import type { EventsPort } from './ports/events';
import type { ExecutionsPort } from './ports/executions';
import type { LivePort } from './ports/live';
import type { WriteLock } from './ports/writeLock';

/** What every resolver gets: who calls, for which tenant, through which surface, and the data access. */
export interface RequestContext {
  db: D1Database;
  requestId: string;
  /** Null only before authentication; every operation is refused without one. */
  principal: Principal | null;
  source: AuditSource;
  /** The MCP tool this operation runs for, if any (recorded in the audit trail). */
  toolName: string | null;
  loaders: Loaders;
  now: () => Date;
  /** Where committed changes are announced (the live hub); null where nobody listens. */
  events: EventsPort | null;
  /** Live metrics and event feeds; null where the runtime has none. */
  live: LivePort | null;
  /** The request's idempotency key, claimed by its first write (see commitWithAudit). */
  idempotency: IdempotencyClaimPort | null;
  /** The durable runner of workflow executions; null where the runtime has none. */
  executions: ExecutionsPort | null;
  /** Queues a tenant's writes (a mutex in Node, a Durable Object in a Worker); null: writers race. */
  writeLock: WriteLock | null;
  /** Runs the follow-ups a write queued once it committed (outbox.ts); null: the cron runs them. */
  followUps: FollowUpsPort | null;
  /** The keys that seal workflow secrets (SECRETS_KEY); null where none is configured. */
  secretKeys: SecretKeys | null;
  /** The deployment's exceptions to the egress refusals for workflow HTTP steps (config.egress). */
  egress: EgressSettings;
  /** Whether webhook endpoints may use plain http (development only; elsewhere https only). */
  webhooksAllowHttp: boolean;
  /** Where signed audit digests are written (R2, a directory); null where there is none. */
  auditArchive: AuditArchive | null;
  /** Whether digests are on and the keys that sign them (config.auditDigests). */
  auditDigestSettings: AuditDigestSettings;
}

/** What the write path needs of an idempotency key; the HTTP layer owns the rest. */
export interface IdempotencyClaimPort extends IdempotencyScope {
  requestHash: string;
  requestId: string;
  expiresAt: string;
  claimed: boolean;
  /**
   * Set by a mutation declared `returnsSecret` (schema/plugins/secretResult.ts): the answer holds
   * a secret, so it is never stored; a retry is told only this.
   */
  secretResult?: { field: string; id: string } | null;
}

/** Where no configuration is handed in (the engine, migrations): no digests are made. */
const DIGESTS_OFF: AuditDigestSettings = {
  enabled: false,
  signingKey: null,
  keySet: { keys: [] },
  archiveDir: null,
};

/** An authenticated context: use cases behind a scope check may rely on a principal. */
export type AuthedContext = RequestContext & { principal: Principal };

export function createRequestContext(opts: {
  db: D1Database;
  requestId: string;
  principal: Principal | null;
  source?: AuditSource;
  toolName?: string | null;
  idempotency?: IdempotencyClaimPort | null;
  events?: EventsPort | null;
  live?: LivePort | null;
  executions?: ExecutionsPort | null;
  writeLock?: WriteLock | null;
  followUps?: FollowUpsPort | null;
  secretKeys?: SecretKeys | null;
  egress?: EgressSettings;
  webhooksAllowHttp?: boolean;
  auditArchive?: AuditArchive | null;
  auditDigestSettings?: AuditDigestSettings;
}): RequestContext {
  let loaders: Loaders | undefined;
  const { db, principal } = opts;
  return {
    db,
    requestId: opts.requestId,
    principal,
    source: opts.source ?? 'graphql',
    toolName: opts.toolName ?? null,
    get loaders() {
      // Built on first use: most requests read one thing and never need them.
      loaders ??= createLoaders(db, principal?.tenantId ?? '');
      return loaders;
    },
    now: () => new Date(),
    idempotency: opts.idempotency ?? null,
    events: opts.events ?? null,
    live: opts.live ?? null,
    executions: opts.executions ?? null,
    writeLock: opts.writeLock ?? null,
    followUps: opts.followUps ?? null,
    secretKeys: opts.secretKeys ?? null,
    egress: opts.egress ?? STRICT_EGRESS,
    webhooksAllowHttp: opts.webhooksAllowHttp ?? false,
    auditArchive: opts.auditArchive ?? null,
    auditDigestSettings: opts.auditDigestSettings ?? DIGESTS_OFF,
  };
}

/**
 * Narrows a context at run time; throws if an operation slipped past authentication. Schema
 * fields need none: behind a scope (t.withAuth) they receive an AuthedContext from scope-auth.
 */
export function authed(ctx: RequestContext): AuthedContext {
  if (!ctx.principal) throw new AppError('UNAUTHENTICATED', 'Authentication required');
  return ctx as AuthedContext;
}

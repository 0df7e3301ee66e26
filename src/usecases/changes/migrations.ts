import { isGuard } from '../../db/errors';
import { type Principal, systemPrincipal } from '../../domain/principal';
import { commitWithAudit } from '../commit';
import type { AuthedContext } from '../context';

/**
 * Audit events for what a SQL migration changed in existing rows. A migration cannot extend a
 * tenant's audit chain (each event hashes the one before it, in code), so it records each row it
 * changed in `change_migrations`; this writes one chained event per row through the normal write
 * path and marks the row audited in the same batch. The Worker's cron and the Node runtime's
 * start-up run it; it is idempotent and does nothing once every row is audited.
 */

/** Who the trail names for a migration's changes. */
export const migrationPrincipal = (tenantId: string): Principal =>
  systemPrincipal(tenantId, 'migration', 'ChangeFlow database migration');

/** Rows per batch: each is one audit insert and one update, well under D1's limits. */
const BATCH = 40;

interface PendingRow {
  change_id: string;
  migration: string;
  before_json: string;
  after_json: string;
  migrated_at: string;
}

/** What each migration did, for a person reading the trail. */
const REASONS: Record<string, string> = {
  '0009_standard_requires_template':
    'Only a change created from a standard change template is STANDARD: this STANDARD change, not yet ' +
    'approved, goes to the CAB as a NORMAL change',
};

/** Tenants with changes a migration touched and nobody audited yet. */
export async function tenantsWithUnauditedMigrations(db: D1Database): Promise<string[]> {
  const { results } = await db
    .prepare('SELECT DISTINCT tenant_id FROM change_migrations WHERE audited_at IS NULL')
    .all<{ tenant_id: string }>();
  return results.map((r) => r.tenant_id);
}

const alreadyAudited = (e: unknown) => isGuard(e, 'CHANGE_MIGRATION_ALREADY_AUDITED');

/** Writes the audit events of one tenant's migrated changes (ctx acts as migrationPrincipal); returns how many. */
export async function auditTenantMigrations(ctx: AuthedContext): Promise<number> {
  const tenantId = ctx.principal.tenantId;
  let total = 0;
  for (;;) {
    const pending = () =>
      ctx.db
        .prepare(
          `SELECT change_id, migration, before_json, after_json, migrated_at FROM change_migrations
           WHERE tenant_id = ?1 AND audited_at IS NULL ORDER BY migrated_at, change_id LIMIT ?2`,
        )
        .bind(tenantId, BATCH)
        .all<PendingRow>();
    if ((await pending()).results.length === 0) return total;
    try {
      total += await commitWithAudit(ctx, async () => {
        const { results } = await pending();
        const at = ctx.now().toISOString();
        return {
          statements: results.map((r) =>
            ctx.db
              .prepare(
                'UPDATE change_migrations SET audited_at = ?1 WHERE tenant_id = ?2 AND change_id = ?3 AND migration = ?4',
              )
              .bind(at, tenantId, r.change_id, r.migration),
          ),
          audit: results.map((r) => ({
            action: 'change.migrated',
            targetType: 'ChangeRequest',
            targetId: r.change_id,
            before: JSON.parse(r.before_json),
            after: {
              ...JSON.parse(r.after_json),
              migration: r.migration,
              migratedAt: r.migrated_at,
              reason: REASONS[r.migration] ?? null,
            },
          })),
          result: results.length,
        };
      });
    } catch (e) {
      // Another writer audited these rows first: look again.
      if (!alreadyAudited(e)) throw e;
    }
  }
}

/** Every tenant's pending migration audits; `contextFor` gives a context acting as migrationPrincipal. */
export async function auditMigratedChanges(
  db: D1Database,
  contextFor: (tenantId: string) => AuthedContext,
): Promise<number> {
  let total = 0;
  for (const tenantId of await tenantsWithUnauditedMigrations(db)) {
    total += await auditTenantMigrations(contextFor(tenantId));
  }
  return total;
}

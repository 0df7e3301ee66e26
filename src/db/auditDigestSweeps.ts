/** Where the hourly digest run is (migration 0015): one row, the sweep of the current hour. */

/** Starts the sweep of `hour` (2026-12-07T01) from the first tenant, unless it started already. */
export async function startDigestSweep(db: D1Database, hour: string): Promise<void> {
  await db
    .prepare(
      `INSERT INTO audit_digest_sweeps (id, hour, after_tenant, done) VALUES (1, ?1, '', 0)
       ON CONFLICT (id) DO UPDATE SET hour = excluded.hour, after_tenant = '', done = 0
       WHERE audit_digest_sweeps.hour < excluded.hour`,
    )
    .bind(hour)
    .run();
}

/**
 * Claims the next tenants of the sweep of `hour`: reads its cursor, asks `next` for the tenants
 * after it, and moves the cursor past them only if no other invocation moved it meanwhile.
 * 'done' when there is no sweep this hour or it has handed out every tenant; 'lost' when another
 * invocation claimed first (try again).
 */
export async function claimDigestSweep(
  db: D1Database,
  hour: string,
  next: (after: string) => Promise<string[]>,
): Promise<{ tenants: string[] } | 'done' | 'lost'> {
  const row = await db
    .prepare('SELECT after_tenant, done FROM audit_digest_sweeps WHERE id = 1 AND hour = ?1')
    .bind(hour)
    .first<{ after_tenant: string; done: number }>();
  if (!row || row.done) return 'done';
  const tenants = await next(row.after_tenant);
  const res = await db
    .prepare(
      `UPDATE audit_digest_sweeps SET after_tenant = ?3, done = ?4
       WHERE id = 1 AND hour = ?1 AND after_tenant = ?2 AND done = 0`,
    )
    .bind(hour, row.after_tenant, tenants.at(-1) ?? row.after_tenant, tenants.length === 0 ? 1 : 0)
    .run();
  if (res.meta.changes === 0) return 'lost';
  return tenants.length === 0 ? 'done' : { tenants };
}

// The scale prototype (docs/scaling.md), run only by bench/scale/run.mjs under `wrangler dev`.
// Both routes run the service's own write, createChange (src/usecases/changes/lifecycle.ts): the
// change row, its services and the requester, and its audit event appended to the tenant's hash
// chain by commitWithAudit, one batch. They differ only in where the tenant's data lives:
//
//   POST /d1/create?tenant=&writer=   in the shared D1 database, the writers of a tenant taking
//                                     turns through its TenantLock Durable Object, as the service
//                                     does (src/runtime/worker/ports.ts durableWriteLock)
//   POST /d1-race/create?...          the same without the write turn: writers race for the chain
//                                     head and the losers retry (commit.ts), as before the turn
//   POST /do/create?tenant=&writer=   in the tenant's own SQLite-backed Durable Object
//                                     (ctx.storage.sql); its writes queue in the object's memory
//                                     (keyedMutex), no lock round trip
//   POST /do/migrate?tenant=          the migrations (the request body) into a tenant's object
//   GET  /{d1,do}/verify?tenant=      how many changes the tenant holds and whether its whole audit
//                                     chain verifies (src/domain/auditChain.ts)
//
// No HTTP auth, limiter or GraphQL: those are the same on both sides and the service is measured
// with them beside this (the runner's `service` variant).
import { DurableObject } from 'cloudflare:workers';
import { auditChain } from '../../src/db/audit';
import { verifyAuditChain } from '../../src/domain/auditChain';
import type { Principal } from '../../src/domain/principal';
import { durableWriteLock } from '../../src/runtime/worker/ports';
import { TenantLock } from '../../src/runtime/worker/tenantLock';
import { createChange } from '../../src/usecases/changes/lifecycle';
import { type AuthedContext, createRequestContext } from '../../src/usecases/context';
import { keyedMutex } from '../../src/usecases/ports/writeLock';
import { SqlStorageD1 } from './sqlStorageD1';

export { TenantLock };

interface Env {
  DB: D1Database;
  TENANT_LOCKS: DurableObjectNamespace<TenantLock>;
  TENANT_STORE: DurableObjectNamespace<TenantStore>;
}

/** What every write creates: a NORMAL change touching one service, as the runner's GraphQL write. */
const DRAFT = {
  title: 'Scale bench change',
  description: 'Created by bench/scale to measure write throughput',
  type: 'NORMAL',
  impact: 'LOW',
  urgency: 'LOW',
  affectedServices: ['scale-svc'],
} as const;

const principal = (tenantId: string, writer: string): Principal => ({
  id: writer,
  tenantId,
  roles: ['requester'],
  kind: 'user',
  name: null,
  email: null,
});

/** What one write cost its database: round trips (statements run alone, batches), and batch time. */
interface DbUse {
  calls: number;
  batchMs: number;
}

/**
 * The database as the use case sees it, counting each round trip: a statement run on its own
 * (first/all/run/raw) or a batch, and the time batches take. The statements stay the database's
 * own, so that batch() takes them.
 */
function counted(db: D1Database, use: DbUse): D1Database {
  const wrap = (statement: D1PreparedStatement): D1PreparedStatement => {
    const bind = statement.bind.bind(statement);
    statement.bind = (...values: unknown[]) => wrap(bind(...values));
    for (const method of ['first', 'all', 'run', 'raw'] as const) {
      const run = (statement[method] as (...args: unknown[]) => Promise<unknown>).bind(statement);
      (statement as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
        use.calls++;
        return run(...args);
      };
    }
    return statement;
  };
  return new Proxy(db, {
    get(target, property) {
      if (property === 'prepare') return (query: string) => wrap(target.prepare(query));
      if (property === 'batch') {
        return async (statements: D1PreparedStatement[]) => {
          use.calls++;
          const started = performance.now();
          try {
            return await target.batch(statements);
          } finally {
            use.batchMs += performance.now() - started;
          }
        };
      }
      const value = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * How long each write held its tenant's turn (ms): the span the tenant's other writers wait out.
 * Null without a lock (the race variant). workerd's clock moves only across I/O, so this is the
 * I/O the turn waited on (database round trips), not the CPU spent inside it.
 */
function timed(writeLock: AuthedContext['writeLock']) {
  let held: number | null = null;
  const lock: AuthedContext['writeLock'] = writeLock
    ? (key, work) =>
        writeLock(key, async () => {
          const started = performance.now();
          try {
            return await work();
          } finally {
            held = (held ?? 0) + performance.now() - started;
          }
        })
    : null;
  return { lock, held: () => held };
}

async function create(
  db: D1Database,
  tenantId: string,
  writer: string,
  writeLock: AuthedContext['writeLock'],
) {
  const turn = timed(writeLock);
  const use: DbUse = { calls: 0, batchMs: 0 };
  const ctx = createRequestContext({
    db: counted(db, use),
    requestId: crypto.randomUUID(),
    principal: principal(tenantId, writer),
    writeLock: turn.lock,
  }) as AuthedContext;
  const change = await createChange(ctx, { ...DRAFT, affectedServices: [...DRAFT.affectedServices] });
  return { id: change.id, heldMs: turn.held(), dbCalls: use.calls, batchMs: use.batchMs };
}

async function verify(db: D1Database, tenantId: string) {
  const changes = await db
    .prepare('SELECT COUNT(*) AS n FROM change_requests WHERE tenant_id = ?1')
    .bind(tenantId)
    .first<number>('n');
  const events = await auditChain(db, tenantId);
  const result = await verifyAuditChain(events);
  // The database's size as D1 reports it after a statement (the object's own file, or the shared one).
  const { meta } = await db.prepare('SELECT 1').run();
  return {
    changes,
    events: events.length,
    valid: result.valid,
    brokenAtSeq: result.brokenAtSeq,
    bytes: meta.size_after,
  };
}

/** One tenant's storage: its own SQLite database, its writes one after another in this object. */
export class TenantStore extends DurableObject<Env> {
  private readonly db = new SqlStorageD1(this.ctx.storage);
  /** Queues this tenant's writes in memory: commitWithAudit reads the chain head, hashes, writes. */
  private readonly turn = keyedMutex();

  /** Applies the schema once (the runner sends migrations/*.sql, concatenated). */
  migrate(sql: string): number {
    const applied = this.ctx.storage.sql
      .exec("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'change_requests'")
      .one().n as number;
    if (applied === 0) this.ctx.storage.sql.exec(sql);
    return this.ctx.storage.sql.databaseSize;
  }

  create(tenantId: string, writer: string) {
    return create(this.db, tenantId, writer, this.turn);
  }

  verify(tenantId: string) {
    return verify(this.db, tenantId);
  }
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const tenant = url.searchParams.get('tenant');
    const writer = url.searchParams.get('writer') ?? 'scale-writer';
    if (url.pathname === '/health') return json({ ok: true });
    if (!tenant || !/^[a-z0-9-]{1,64}$/.test(tenant)) return json({ error: 'tenant: a-z, 0-9, -' }, 400);
    const store = () => env.TENANT_STORE.get(env.TENANT_STORE.idFromName(tenant));
    try {
      switch (`${request.method} ${url.pathname}`) {
        case 'POST /d1/create':
          return json(await create(env.DB, tenant, writer, durableWriteLock(env.TENANT_LOCKS)));
        case 'POST /d1-race/create':
          return json(await create(env.DB, tenant, writer, null));
        case 'POST /do/create':
          return json(await store().create(tenant, writer));
        case 'POST /do/migrate':
          return json({ size: await store().migrate(await request.text()) });
        case 'GET /d1/verify':
          return json(await verify(env.DB, tenant));
        case 'GET /do/verify':
          return json(await store().verify(tenant));
      }
      return json({ error: 'not found' }, 404);
    } catch (e) {
      // An AppError's stable code (CONCURRENT_MODIFICATION when every attempt lost the race).
      const code = (e as { code?: unknown })?.code;
      return json({ error: typeof code === 'string' ? code : String((e as Error)?.message ?? e) }, 500);
    }
  },
} satisfies ExportedHandler<Env>;

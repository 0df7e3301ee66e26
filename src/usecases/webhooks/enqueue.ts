import { getChange } from '../../db/changes';
import { getExecution } from '../../db/executions';
import { newId } from '../../db/ids';
import { insertOutboxStatement, webhookRowId } from '../../db/outbox';
import { insertDeliveryStatement, subscribedEndpoints } from '../../db/webhooks';
import {
  changeSnapshot,
  type DerivedEvent,
  eventsOfAuditEntry,
  executionSnapshot,
  webhookBody,
} from '../../domain/webhooks';
import type { AuditEntry } from '../commit';
import type { AuthedContext } from '../context';

/**
 * The deliveries a write's audit entries call for, as statements of the write's own batch
 * (commit.ts): a committed write always has its deliveries queued, a write that did not commit
 * never sends one. One delivery (and one outbox row of kind 'webhook-delivery') per event per
 * enabled endpoint subscribed to it.
 */
export async function webhookStatements(
  ctx: AuthedContext,
  entries: readonly { entry: AuditEntry; seq: number }[],
  now: string,
): Promise<{ statements: D1PreparedStatement[]; outboxIds: string[] }> {
  const none = { statements: [], outboxIds: [] };
  const events = entries.flatMap(({ entry, seq }) =>
    eventsOfAuditEntry(entry).map((event) => ({ event, entry, seq })),
  );
  if (events.length === 0) return none;
  const { tenantId } = ctx.principal;
  const endpoints = await subscribedEndpoints(ctx.db, tenantId, [
    ...new Set(events.map((e) => e.event.type)),
  ]);
  if (endpoints.length === 0) return none;
  const statements: D1PreparedStatement[] = [];
  const outboxIds: string[] = [];
  for (const { event, entry, seq } of events) {
    const targets = endpoints.filter((e) => e.events.includes(event.type));
    if (targets.length === 0) continue;
    const body = webhookBody(event.type, now, await snapshot(ctx, event, entry, now));
    for (const endpoint of targets) {
      const id = newId('whd');
      statements.push(
        insertDeliveryStatement(ctx.db, {
          id,
          tenantId,
          endpointId: endpoint.id,
          webhookId: newId('msg'),
          eventType: event.type,
          subject: event.subject,
          seq,
          payload: body,
          status: 'PENDING',
          attempts: 0,
          lastStatusCode: null,
          lastError: null,
          lastDurationMs: null,
          responseExcerpt: null,
          lastAttemptAt: null,
          nextAttemptAt: now,
          redeliveryOf: null,
          createdAt: now,
          endedAt: null,
        }),
      );
      const outboxId = webhookRowId(id);
      statements.push(deliveryOutboxStatement(ctx, outboxId, id, now));
      outboxIds.push(outboxId);
    }
  }
  return { statements, outboxIds };
}

/** The outbox row that sends a delivery: run by the engine's principal, whoever wrote. */
export function deliveryOutboxStatement(
  ctx: AuthedContext,
  outboxId: string,
  deliveryId: string,
  now: string,
): D1PreparedStatement {
  return insertOutboxStatement(ctx.db, {
    id: outboxId,
    tenantId: ctx.principal.tenantId,
    followUp: { kind: 'webhook-delivery', deliveryId },
    actor: null,
    source: 'system',
    toolName: null,
    requestId: ctx.requestId,
    createdAt: now,
  });
}

const record = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' ? (v as Record<string, unknown>) : {};

/**
 * What the delivery says of its subject, as it is once the write commits: a change's entry holds
 * only the fields that changed, laid over the row as it is before the write.
 */
async function snapshot(ctx: AuthedContext, event: DerivedEvent, entry: AuditEntry, now: string) {
  const { tenantId } = ctx.principal;
  const after = record(entry.after);
  if (event.targetType === 'ChangeRequest') {
    if (entry.action === 'change.created') return changeSnapshot(after, null);
    const current = await getChange(ctx.db, tenantId, entry.targetId);
    const previousStatus = (record(entry.before).status as string | undefined) ?? current?.status ?? null;
    const merged = current
      ? { ...current, ...after, version: current.version + 1, updatedAt: now }
      : { id: entry.targetId, ...after };
    return changeSnapshot(merged, previousStatus);
  }
  if (event.targetType === 'WorkflowExecution') {
    const execution = await getExecution(ctx.db, tenantId, entry.targetId);
    return executionSnapshot(record(execution ?? { id: entry.targetId }), after);
  }
  return { [event.targetType]: { id: entry.targetId, ...after } };
}

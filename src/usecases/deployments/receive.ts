import { getChange } from '../../db/changes';
import {
  claimDeliveryStatement,
  type DeploymentIntegrationRecord,
  type DeploymentRecord,
  type DeploymentStatus,
  deploymentByExternalId,
  linkCreatedChangeStatement,
  setDeploymentStatusStatement,
  upsertDeploymentStatement,
} from '../../db/deployments';
import { classifyDbError } from '../../db/errors';
import { listFreezeWindows } from '../../db/freezeWindows';
import { newId } from '../../db/ids';
import { getTemplate } from '../../db/standardChangeTemplates';
import { type Principal, systemPrincipal } from '../../domain/principal';
import { parseInstant } from '../../domain/schedule';
import type { ChangeRecord, ChangeStatus } from '../../domain/types';
import { AppError, type ErrorCode } from '../../errors';
import { moveChange, submitChange } from '../changes/lifecycle';
import { scheduleChange } from '../changes/schedule';
import { createChangeFromTemplate } from '../changes/standardTemplates';
import { type AuditEntry, commitWithAudit } from '../commit';
import type { AuthedContext } from '../context';
import { startImplementation } from '../workflows/runbooks';

/**
 * A deployment reported by a pipeline, whichever shape it came in (GitHub or generic, see
 * src/http/deploymentHooks.ts), and what it does to its change:
 *
 * - the gate: its environment must be mapped; the change it names (or, without one, the one the
 *   environment's template raises) must be approved; its window must not overlap a freeze window.
 *   A deployment that fails the gate is BLOCKED: recorded, audited as `deployment.blocked`, and
 *   answered `{allowed: false, code, reason}`, and its change is not touched;
 * - the lifecycle, through the change use cases and never skipping a state: APPROVED → SCHEDULED
 *   (for the deployment's window) → IMPLEMENTING when it starts → COMPLETED or FAILED when it ends.
 *   A change raised from a template is submitted first (a LOW-risk standard change is
 *   pre-approved; any other waits for the CAB, and the deployment is blocked until it is approved).
 *
 * The integration acts (an audited system principal with a change manager's rights in its tenant),
 * and a change a deployment implements never also runs its runbook (afterDecision.ts, runbooks.ts).
 */

export type DeploymentPhase = 'PENDING' | 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED' | 'INACTIVE';

export interface DeploymentEvent {
  externalId: string;
  environment: string;
  commit: string;
  ref: string;
  url: string | null;
  phase: DeploymentPhase;
  /** The change the payload names, if any. */
  changeId: string | null;
  /** The window the pipeline plans; default: an hour from now. */
  window: { start: string; end: string } | null;
}

export type BlockCode = Extract<
  ErrorCode,
  | 'DEPLOYMENT_ENVIRONMENT_UNKNOWN'
  | 'DEPLOYMENT_FREEZE_WINDOW'
  | 'DEPLOYMENT_CHANGE_NOT_FOUND'
  | 'DEPLOYMENT_CHANGE_NOT_APPROVED'
  | 'DEPLOYMENT_TEMPLATE_UNAVAILABLE'
  | 'DEPLOYMENT_WINDOW_INVALID'
>;

export type DeploymentAnswer =
  | { allowed: true; deploymentId: string; changeId: string | null; status: ChangeStatus | null }
  | { allowed: false; deploymentId: string; changeId: string | null; code: BlockCode; reason: string };

interface Block {
  code: BlockCode;
  reason: string;
}

export const DEFAULT_WINDOW_MS = 60 * 60 * 1000;
/** A deployment window longer than this is not a deployment's. */
export const MAX_WINDOW_MS = 7 * 24 * 60 * 60 * 1000;

/** Who acts for an integration: recorded under its id in the audit trail. */
export const integrationPrincipal = (
  i: Pick<DeploymentIntegrationRecord, 'id' | 'tenantId' | 'name'>,
): Principal => systemPrincipal(i.tenantId, i.id, `deployment integration ${i.name}`);

const PHASE_STATUS: Record<Exclude<DeploymentPhase, 'INACTIVE'>, DeploymentStatus> = {
  PENDING: 'PENDING',
  IN_PROGRESS: 'IN_PROGRESS',
  SUCCEEDED: 'SUCCEEDED',
  FAILED: 'FAILED',
};

/** How far along the lifecycle a phase takes its change. */
const PHASE_TARGET: Record<Exclude<DeploymentPhase, 'INACTIVE'>, ChangeStatus> = {
  PENDING: 'SCHEDULED',
  IN_PROGRESS: 'IMPLEMENTING',
  SUCCEEDED: 'COMPLETED',
  FAILED: 'FAILED',
};

const RANK: Partial<Record<ChangeStatus, number>> = {
  APPROVED: 0,
  SCHEDULED: 1,
  IMPLEMENTING: 2,
  COMPLETED: 3,
  FAILED: 3,
};
const STARTED: readonly ChangeStatus[] = ['IMPLEMENTING', 'COMPLETED', 'FAILED', 'ROLLED_BACK'];

/** The window the change is scheduled for: the payload's (never starting in the past) or an hour from now. */
function windowOf(event: DeploymentEvent, now: string): { start: string; end: string } | Block {
  const nowMs = Date.parse(now);
  if (!event.window) return { start: now, end: new Date(nowMs + DEFAULT_WINDOW_MS).toISOString() };
  const start = parseInstant(event.window.start);
  const end = parseInstant(event.window.end);
  if (start === null || end === null) {
    return {
      code: 'DEPLOYMENT_WINDOW_INVALID',
      reason: 'window.start and window.end must be ISO-8601 date-times with a time zone',
    };
  }
  const effectiveStart = Math.max(start, nowMs);
  if (end <= effectiveStart) {
    return {
      code: 'DEPLOYMENT_WINDOW_INVALID',
      reason: `window.end ${event.window.end} is not after the deployment starts (${new Date(effectiveStart).toISOString()})`,
    };
  }
  if (end - effectiveStart > MAX_WINDOW_MS) {
    return { code: 'DEPLOYMENT_WINDOW_INVALID', reason: 'the window is longer than 7 days' };
  }
  return { start: new Date(effectiveStart).toISOString(), end: new Date(end).toISOString() };
}

const isBlock = (w: { start: string; end: string } | Block): w is Block => 'code' in w;

/**
 * The gate, read inside the claim's attempt so that it sees what the tenant's writes before it left:
 * null when the deployment may go on.
 */
async function gate(
  ctx: AuthedContext,
  integration: DeploymentIntegrationRecord,
  event: DeploymentEvent,
  existing: DeploymentRecord | null,
  window: { start: string; end: string } | Block,
): Promise<{ block: Block | null; change: ChangeRecord | null }> {
  const tenantId = integration.tenantId;
  const mapping = integration.environments.find(
    (m) => m.environment.toLowerCase() === event.environment.toLowerCase(),
  );
  const changeId = existing?.changeId ?? event.changeId;
  const change = changeId ? await getChange(ctx.db, tenantId, changeId) : null;
  if (!mapping) {
    const known = integration.environments.map((m) => m.environment).join(', ') || 'none';
    return {
      change,
      block: {
        code: 'DEPLOYMENT_ENVIRONMENT_UNKNOWN',
        reason: `Environment "${event.environment}" is not mapped by this integration (mapped: ${known})`,
      },
    };
  }
  if (event.phase === 'INACTIVE') return { change, block: null };
  if (changeId && !change) {
    return {
      change: null,
      block: {
        code: 'DEPLOYMENT_CHANGE_NOT_FOUND',
        reason: `Change ${changeId} does not exist in this tenant`,
      },
    };
  }
  if (change) {
    const ours = existing?.changeId === change.id;
    if (STARTED.includes(change.status)) {
      // Under way (or over) by this deployment: its later statuses follow it. Another deployment
      // may not join a change already implemented: it would end it under the first one.
      if (ours) return { change, block: null };
      return {
        change,
        block: {
          code: 'DEPLOYMENT_CHANGE_NOT_APPROVED',
          reason: `Change ${change.id} is ${change.status}: a deployment needs an APPROVED or SCHEDULED change`,
        },
      };
    }
    const raisedHere = ours && existing?.changeCreated && change.status === 'DRAFT';
    if (change.status !== 'APPROVED' && change.status !== 'SCHEDULED' && !raisedHere) {
      return {
        change,
        block: {
          code: 'DEPLOYMENT_CHANGE_NOT_APPROVED',
          reason: `Change ${change.id} is ${change.status}, not approved: it must be APPROVED (or SCHEDULED) before it is deployed`,
        },
      };
    }
  } else {
    const template = await getTemplate(ctx.db, tenantId, mapping.templateId);
    if (template?.status !== 'ACTIVE') {
      return {
        change: null,
        block: {
          code: 'DEPLOYMENT_TEMPLATE_UNAVAILABLE',
          reason: `The standard change template ${mapping.templateId} mapped to "${mapping.environment}" is ${template ? 'retired' : 'gone'}; an admin maps another`,
        },
      };
    }
  }
  if (isBlock(window)) return { change, block: window };
  if (change?.type !== 'EMERGENCY') {
    const [frozen] = await listFreezeWindows(ctx.db, tenantId, window.start, window.end);
    if (frozen) {
      return {
        change,
        block: {
          code: 'DEPLOYMENT_FREEZE_WINDOW',
          reason: `The deployment window (${window.start} to ${window.end}) overlaps freeze window "${frozen.name}" (${frozen.startsAt} to ${frozen.endsAt})`,
        },
      };
    }
  }
  return { change, block: null };
}

const blockedAudit = (d: DeploymentRecord, block: Block): AuditEntry => ({
  action: 'deployment.blocked',
  targetType: 'deployment',
  targetId: d.id,
  before: null,
  after: {
    integrationId: d.integrationId,
    externalId: d.externalId,
    environment: d.environment,
    commit: d.commit,
    ref: d.ref,
    url: d.url,
    changeId: d.changeId,
    code: block.code,
    reason: block.reason,
  },
});

/** A block found after the claim (the CAB must decide, the template refused the title): recorded the same way. */
async function blockLater(ctx: AuthedContext, d: DeploymentRecord, block: Block): Promise<DeploymentAnswer> {
  const next: DeploymentRecord = {
    ...d,
    status: 'BLOCKED',
    blockedCode: block.code,
    blockedReason: block.reason,
    updatedAt: ctx.now().toISOString(),
  };
  await commitWithAudit(ctx, async () => ({
    statements: [setDeploymentStatusStatement(ctx.db, next)],
    audit: [blockedAudit(next, block)],
    result: null,
  }));
  return { allowed: false, deploymentId: d.id, changeId: d.changeId, code: block.code, reason: block.reason };
}

/** A title variable's value as renderTitle accepts it: one line, no braces, at most 100 characters. */
const titleValue = (v: string) =>
  v
    .replace(/\p{Cc}/gu, ' ')
    .replace(/\{\{|\}\}/g, '')
    .trim()
    .slice(0, 100) || '-';

/** Raises the environment's standard change, linked to the deployment in the same batch. */
async function raiseChange(
  ctx: AuthedContext,
  integration: DeploymentIntegrationRecord,
  d: DeploymentRecord,
  window: { start: string; end: string },
): Promise<ChangeRecord | Block> {
  const mapping = integration.environments.find(
    (m) => m.environment.toLowerCase() === d.environment.toLowerCase(),
  );
  const template = mapping ? await getTemplate(ctx.db, integration.tenantId, mapping.templateId) : null;
  if (!mapping || !template) {
    return {
      code: 'DEPLOYMENT_TEMPLATE_UNAVAILABLE',
      reason: `No template for environment "${d.environment}"`,
    };
  }
  const values: Record<string, string> = {
    environment: d.environment,
    ref: d.ref,
    commit: d.commit.slice(0, 12),
    deployment: d.externalId,
  };
  try {
    return await createChangeFromTemplate(ctx, template.id, {
      titleVariables: template.titleVariables.map((name) => ({
        name,
        value: titleValue(values[name] ?? ''),
      })),
      plannedStart: window.start,
      plannedEnd: window.end,
      alsoCommit: (change) => ({
        statements: [
          linkCreatedChangeStatement(ctx.db, d.tenantId, d.id, change.id, ctx.now().toISOString()),
        ],
        audit: [
          {
            action: 'deployment.change_raised',
            targetType: 'deployment',
            targetId: d.id,
            before: { changeId: null },
            after: { changeId: change.id, templateId: template.id, templateVersion: template.version },
          },
        ],
      }),
    });
  } catch (e) {
    const c = classifyDbError(e);
    if (c.kind === 'guard' && c.guard === 'DEPLOYMENT_ALREADY_LINKED') {
      // Another delivery of this deployment raised its change first: go on with that one.
      const linked = await deploymentByExternalId(ctx.db, d.tenantId, d.integrationId, d.externalId);
      const change = linked?.changeId ? await getChange(ctx.db, d.tenantId, linked.changeId) : null;
      if (change) return change;
    }
    if (e instanceof AppError) {
      return {
        code:
          e.code === 'SCHEDULE_INVALID_WINDOW'
            ? 'DEPLOYMENT_WINDOW_INVALID'
            : 'DEPLOYMENT_TEMPLATE_UNAVAILABLE',
        reason: `The change could not be raised from template ${template.id}: ${e.message}`,
      };
    }
    throw e;
  }
}

/** Someone (or another delivery) moved the change meanwhile: read it again and go on from there. */
const isRace = (e: unknown) =>
  e instanceof AppError && (e.code === 'CHANGE_INVALID_TRANSITION' || e.code === 'CHANGE_VERSION_CONFLICT');

/** Moves the change one state at a time until it reaches the phase's target (or can go no further). */
async function walk(
  ctx: AuthedContext,
  d: DeploymentRecord,
  changeId: string,
  target: ChangeStatus,
  window: { start: string; end: string },
): Promise<ChangeRecord | Block> {
  const want = RANK[target] as number;
  for (let step = 0; step < 8; step++) {
    const change = await getChange(ctx.db, d.tenantId, changeId);
    if (!change)
      return { code: 'DEPLOYMENT_CHANGE_NOT_FOUND', reason: `Change ${changeId} no longer exists` };
    const rank = RANK[change.status];
    if (rank === undefined || rank >= want) return change;
    try {
      if (change.status === 'APPROVED') {
        await scheduleChange(ctx, change.id, window.start, window.end);
      } else if (change.status === 'SCHEDULED') {
        await startImplementation(ctx, change.id);
      } else if (change.status === 'IMPLEMENTING') {
        const reason = `Deployment ${d.externalId} of ${d.commit.slice(0, 12)} to ${d.environment} failed${d.url ? ` (${d.url})` : ''}`;
        await moveChange(
          ctx,
          change.id,
          target === 'FAILED' ? 'FAILED' : 'COMPLETED',
          target === 'FAILED' ? reason : null,
        );
      }
    } catch (e) {
      if (isRace(e)) continue;
      if (e instanceof AppError && e.code === 'SCHEDULE_FREEZE_WINDOW') {
        return { code: 'DEPLOYMENT_FREEZE_WINDOW', reason: e.message };
      }
      if (e instanceof AppError && e.code === 'SCHEDULE_INVALID_WINDOW') {
        return { code: 'DEPLOYMENT_WINDOW_INVALID', reason: e.message };
      }
      throw e;
    }
  }
  return (await getChange(ctx.db, d.tenantId, changeId)) as ChangeRecord;
}

/**
 * Handles one verified delivery. `deliveryKey` is claimed in the batch of its first write, so a
 * replay fails that batch (UNIQUE on deployment_deliveries) and changes nothing: the caller maps it.
 * `ctx` acts as the integration, with a clock fixed at the delivery's arrival.
 */
export async function receiveDeployment(
  ctx: AuthedContext,
  integration: DeploymentIntegrationRecord,
  event: DeploymentEvent,
  deliveryKey: string,
): Promise<DeploymentAnswer> {
  const now = ctx.now().toISOString();
  const window = windowOf(event, now);
  const claimed = await commitWithAudit(ctx, async () => {
    const existing = await deploymentByExternalId(
      ctx.db,
      integration.tenantId,
      integration.id,
      event.externalId,
    );
    const { block, change } = await gate(ctx, integration, event, existing, window);
    const record: DeploymentRecord = {
      id: existing?.id ?? newId('dep'),
      tenantId: integration.tenantId,
      integrationId: integration.id,
      externalId: event.externalId,
      environment: event.environment,
      commit: event.commit,
      ref: event.ref,
      url: event.url ?? existing?.url ?? null,
      status: block ? 'BLOCKED' : event.phase === 'INACTIVE' ? 'INACTIVE' : PHASE_STATUS[event.phase],
      // A blocked deployment links no change: it did not run under it.
      changeId: existing?.changeId ?? (block ? null : (change?.id ?? null)),
      changeCreated: existing?.changeCreated ?? false,
      blockedCode: block?.code ?? null,
      blockedReason: block?.reason ?? null,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
    const audit: AuditEntry = block
      ? blockedAudit({ ...record, changeId: record.changeId ?? change?.id ?? null }, block)
      : {
          action: existing ? 'deployment.updated' : 'deployment.received',
          targetType: 'deployment',
          targetId: record.id,
          before: existing && { status: existing.status, changeId: existing.changeId },
          after: {
            integrationId: record.integrationId,
            externalId: record.externalId,
            environment: record.environment,
            commit: record.commit,
            ref: record.ref,
            url: record.url,
            status: record.status,
            changeId: record.changeId,
          },
        };
    return {
      statements: [
        upsertDeploymentStatement(ctx.db, record),
        claimDeliveryStatement(ctx.db, {
          integrationId: integration.id,
          deliveryKey,
          tenantId: integration.tenantId,
          deploymentId: record.id,
          receivedAt: now,
        }),
      ],
      audit: [audit],
      result: { record, block, change },
    };
  });
  const { record, block } = claimed;
  if (block) {
    return {
      allowed: false,
      deploymentId: record.id,
      changeId: record.changeId ?? claimed.change?.id ?? null,
      code: block.code,
      reason: block.reason,
    };
  }
  let change = claimed.change;
  if (event.phase === 'INACTIVE' || isBlock(window)) {
    return {
      allowed: true,
      deploymentId: record.id,
      changeId: change?.id ?? null,
      status: change?.status ?? null,
    };
  }
  if (!change) {
    const raised = await raiseChange(ctx, integration, record, window);
    if ('code' in raised) return blockLater(ctx, record, raised);
    change = raised;
  }
  const linked: DeploymentRecord = { ...record, changeId: change.id };
  if (change.status === 'DRAFT') {
    change = await submitChange(ctx, change.id);
    if (change.status !== 'APPROVED') {
      return blockLater(ctx, linked, {
        code: 'DEPLOYMENT_CHANGE_NOT_APPROVED',
        reason: `Change ${change.id} raised from the template is ${change.status}: its risk is ${change.riskLevel}, so the CAB must approve it before the deployment goes on`,
      });
    }
  }
  const walked = await walk(ctx, linked, change.id, PHASE_TARGET[event.phase], window);
  if ('code' in walked) return blockLater(ctx, linked, walked);
  return { allowed: true, deploymentId: record.id, changeId: walked.id, status: walked.status };
}

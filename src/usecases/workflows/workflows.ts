import type { ZodError } from 'zod';
import { getChangesByIds } from '../../db/changes';
import { isGuard, isUniqueViolation } from '../../db/errors';
import { newId } from '../../db/ids';
import {
  activeWorkflowNamed,
  deleteWorkflowStatements,
  getWorkflow,
  insertWorkflowStatements,
  setWorkflowStatusStatement,
  updateWorkflowDefinitionStatements,
} from '../../db/workflows';
import type { WorkflowRecord, WorkflowStatus } from '../../domain/types';
import { type WorkflowDefinition, workflowDefinitionSchema } from '../../domain/workflowSteps';
import { AppError } from '../../errors';
import { commitWithAudit, type WritePlan } from '../commit';
import type { AuthedContext } from '../context';
import { assertEgressAllowed } from './egressPolicy';
import { workflowNotFound } from './errors';
import { assertNoLiveExecutions } from './executions';
import { secretIssues } from './secrets';

/** Workflow definitions: create, edit (a new version each time), activate, deactivate, delete. */

export interface WorkflowDraft {
  name: string;
  description?: string | null;
  steps: unknown[];
  triggers?: unknown[] | null;
}

export type WorkflowPatch = Partial<WorkflowDraft>;

const nameTaken = (name: string) =>
  new AppError('WORKFLOW-004', `An ACTIVE workflow named "${name}" already exists; choose another name`, {
    issues: [{ field: 'name', message: 'an ACTIVE workflow already has this name' }],
  });

const isNameRace = (e: unknown) => isUniqueViolation(e, 'workflows');

function invalidDefinition(error: ZodError): AppError {
  const issues = error.issues.map((i) => ({
    field: i.path.map(String).join('.') || '(definition)',
    message: i.message,
  }));
  const summary = issues.map((i) => `${i.field}: ${i.message}`).join('; ');
  return new AppError('VALIDATION_FAILED', `Invalid workflow definition: ${summary}`, { issues });
}

/**
 * Validates steps and triggers by type, then checks what they refer to: an approval gate must
 * name a change of this tenant; an HTTP step may only call a host the egress policy allows; a secret
 * must be set in this tenant and a step may only send it to a host in its allowedHosts.
 */
async function parseDefinition(
  ctx: AuthedContext,
  raw: { steps: unknown[]; triggers?: unknown[] | null },
): Promise<WorkflowDefinition> {
  const parsed = workflowDefinitionSchema.safeParse({
    steps: raw.steps,
    triggers: raw.triggers ?? undefined,
  });
  if (!parsed.success) throw invalidDefinition(parsed.error);
  await assertEgressAllowed(ctx, parsed.data.steps);
  const gates = parsed.data.steps.flatMap((s, i) =>
    s.type === 'approval-gate' ? [{ i, id: s.changeId }] : [],
  );
  if (gates.length) {
    const known = new Set(
      (await getChangesByIds(ctx.db, ctx.principal.tenantId, [...new Set(gates.map((g) => g.id))])).map(
        (c) => c.id,
      ),
    );
    const issues = gates
      .filter((g) => !known.has(g.id))
      .map((g) => ({ field: `steps.${g.i}.changeId`, message: `change ${g.id} does not exist` }));
    if (issues.length) {
      throw new AppError(
        'WORKFLOW-002',
        `Invalid workflow definition: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`,
        { issues },
      );
    }
  }
  const secrets = await secretIssues(ctx, parsed.data);
  if (secrets.length) {
    throw new AppError(
      'VALIDATION_FAILED',
      `Invalid workflow definition: ${secrets.map((i) => `${i.field}: ${i.message}`).join('; ')}`,
      { issues: secrets },
    );
  }
  return parsed.data;
}

/** Commits a plan, turning a lost race for an ACTIVE name into WORKFLOW-004. */
async function commit<T>(
  ctx: AuthedContext,
  name: () => string,
  plan: () => Promise<WritePlan<T>>,
): Promise<T> {
  try {
    return await commitWithAudit(ctx, plan);
  } catch (e) {
    if (isNameRace(e)) throw nameTaken(name());
    throw e;
  }
}

async function current(ctx: AuthedContext, id: string): Promise<WorkflowRecord> {
  const workflow = await getWorkflow(ctx.db, ctx.principal.tenantId, id);
  if (!workflow) throw workflowNotFound(id);
  return workflow;
}

export async function createWorkflow(ctx: AuthedContext, draft: WorkflowDraft): Promise<WorkflowRecord> {
  const definition = await parseDefinition(ctx, draft);
  const now = ctx.now().toISOString();
  const workflow: WorkflowRecord = {
    id: newId('wf'),
    tenantId: ctx.principal.tenantId,
    name: draft.name,
    description: draft.description ?? null,
    status: 'ACTIVE',
    version: 1,
    steps: definition.steps,
    triggers: definition.triggers,
    createdBy: ctx.principal.id,
    createdAt: now,
    updatedAt: now,
  };
  return commit(
    ctx,
    () => workflow.name,
    async () => {
      if (await activeWorkflowNamed(ctx.db, workflow.tenantId, workflow.name)) throw nameTaken(workflow.name);
      return {
        statements: insertWorkflowStatements(ctx.db, workflow),
        audit: [
          {
            action: 'workflow.created',
            targetType: 'Workflow',
            targetId: workflow.id,
            before: null,
            after: workflow,
          },
        ],
        result: workflow,
      };
    },
  );
}

/** Fields an edit may change; the audit records only those that did, with the version. */
const EDITABLE = ['name', 'description', 'steps', 'triggers'] as const;

export async function updateWorkflow(
  ctx: AuthedContext,
  id: string,
  patch: WorkflowPatch,
  expectedVersion?: number | null,
): Promise<WorkflowRecord> {
  if (EDITABLE.every((k) => patch[k] === undefined)) {
    throw new AppError(
      'VALIDATION_FAILED',
      'Nothing to update: give at least one of name, description, steps, triggers',
      {
        issues: [{ field: 'input', message: 'no field to update' }],
      },
    );
  }
  const name = patch.name;
  return commit(
    ctx,
    () => name ?? '',
    async () => {
      const prev = await current(ctx, id);
      if (expectedVersion != null && expectedVersion !== prev.version) {
        throw new AppError(
          'WORKFLOW-003',
          `Workflow ${id} is at version ${prev.version}, not ${expectedVersion}; read it again and retry`,
          { workflowId: id, currentVersion: prev.version, expectedVersion },
        );
      }
      const definition = await parseDefinition(ctx, {
        steps: patch.steps ?? prev.steps,
        triggers: patch.triggers ?? prev.triggers,
      });
      const now = ctx.now().toISOString();
      const next: WorkflowRecord = {
        ...prev,
        name: name ?? prev.name,
        description: patch.description === undefined ? prev.description : patch.description,
        steps: definition.steps,
        triggers: definition.triggers,
        version: prev.version + 1,
        updatedAt: now,
      };
      if (next.status === 'ACTIVE' && next.name !== prev.name) {
        const other = await activeWorkflowNamed(ctx.db, next.tenantId, next.name);
        if (other && other.id !== id) throw nameTaken(next.name);
      }
      const before: Record<string, unknown> = { version: prev.version };
      const after: Record<string, unknown> = { version: next.version };
      for (const key of EDITABLE) {
        if (JSON.stringify(prev[key]) !== JSON.stringify(next[key])) {
          before[key] = prev[key];
          after[key] = next[key];
        }
      }
      return {
        statements: updateWorkflowDefinitionStatements(ctx.db, next, ctx.principal.id),
        audit: [{ action: 'workflow.updated', targetType: 'Workflow', targetId: id, before, after }],
        result: next,
      };
    },
  );
}

/** ACTIVE ↔ INACTIVE; the definition and its version stay as they are. */
export async function setWorkflowStatus(
  ctx: AuthedContext,
  id: string,
  status: WorkflowStatus,
): Promise<WorkflowRecord> {
  let name = '';
  return commit(
    ctx,
    () => name,
    async () => {
      const prev = await current(ctx, id);
      name = prev.name;
      if (prev.status === status) {
        throw new AppError('WORKFLOW-005', `Workflow ${id} is already ${status}`, {
          currentStatus: prev.status,
        });
      }
      if (status === 'ACTIVE' && (await activeWorkflowNamed(ctx.db, prev.tenantId, prev.name))) {
        throw nameTaken(prev.name);
      }
      const next: WorkflowRecord = { ...prev, status, updatedAt: ctx.now().toISOString() };
      return {
        statements: [setWorkflowStatusStatement(ctx.db, next)],
        audit: [
          {
            action: status === 'ACTIVE' ? 'workflow.activated' : 'workflow.deactivated',
            targetType: 'Workflow',
            targetId: id,
            before: { status: prev.status },
            after: { status },
          },
        ],
        result: next,
      };
    },
  );
}

/** Removes a workflow and every saved version of it; returns what was removed. */
export async function deleteWorkflow(ctx: AuthedContext, id: string): Promise<WorkflowRecord> {
  try {
    return await commitWithAudit(ctx, async () => {
      const prev = await current(ctx, id);
      await assertNoLiveExecutions(ctx, id);
      return {
        statements: deleteWorkflowStatements(ctx.db, ctx.principal.tenantId, id),
        audit: [
          { action: 'workflow.deleted', targetType: 'Workflow', targetId: id, before: prev, after: null },
        ],
        result: prev,
      };
    });
  } catch (e) {
    // An execution started between the check and the delete: the trigger (migration 0006) refused.
    if (isGuard(e, 'WORKFLOW_HAS_LIVE_EXECUTIONS')) {
      await assertNoLiveExecutions(ctx, id);
    }
    throw e;
  }
}

import { type ExecutionFilter, listExecutions } from '../../db/executions';
import { getWorkflow, listWorkflows, listWorkflowVersions, type WorkflowFilter } from '../../db/workflows';
import { byCreatedAt, PAGE_SIZE, type Page, type PageRequest, paginate } from '../../domain/pagination';
import type { ExecutionRecord, WorkflowRecord, WorkflowVersionRecord } from '../../domain/types';
import { AppError } from '../../errors';
import type { AuthedContext, RequestContext } from '../context';
import type { BreakerSnapshot } from '../ports/executions';
import { workflowNotFound } from './errors';

/** Reads of workflows, their versions and executions, for the caller's tenant. */

export async function readWorkflow(ctx: AuthedContext, id: string): Promise<WorkflowRecord> {
  const workflow = await getWorkflow(ctx.db, ctx.principal.tenantId, id);
  if (!workflow) throw workflowNotFound(id);
  return workflow;
}

/** Newest first, filtered. */
export function workflowsPage(
  ctx: AuthedContext,
  filter: WorkflowFilter,
  request: PageRequest,
): Promise<Page<WorkflowRecord>> {
  return paginate(request, PAGE_SIZE, byCreatedAt, (limit, cursor) =>
    listWorkflows(ctx.db, ctx.principal.tenantId, filter, limit, cursor),
  );
}

/** Every saved version of a workflow, newest first. */
export function workflowVersions(
  ctx: RequestContext,
  workflow: WorkflowRecord,
): Promise<WorkflowVersionRecord[]> {
  return listWorkflowVersions(ctx.db, workflow.tenantId, workflow.id);
}

/** The workflow an execution ran, as it is now; null once deleted. */
export function workflowOf(ctx: RequestContext, execution: ExecutionRecord): Promise<WorkflowRecord | null> {
  return getWorkflow(ctx.db, execution.tenantId, execution.workflowId);
}

/** Newest first, filtered. */
export function executionsPage(
  ctx: AuthedContext,
  filter: ExecutionFilter,
  request: PageRequest,
): Promise<Page<ExecutionRecord>> {
  return paginate(request, PAGE_SIZE, byCreatedAt, (limit, cursor) =>
    listExecutions(ctx.db, ctx.principal.tenantId, filter, limit, cursor),
  );
}

/** The tenant's circuit breakers, one per upstream host its executions called. */
export async function circuitBreakers(ctx: AuthedContext): Promise<BreakerSnapshot[]> {
  if (!ctx.executions?.breakers) {
    throw new AppError('EXECUTION-012', 'This runtime has no workflow engine, so no circuit breakers');
  }
  return ctx.executions.breakers(ctx.principal.tenantId);
}

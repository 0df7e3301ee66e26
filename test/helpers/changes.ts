import type { Role } from '../../src/domain/types';
import { token } from './auth';
import { gql, gqlOk } from './graphql';

/** The fields most tests read back from a change. */
export const CHANGE_FIELDS = `id title type impact urgency priority status version riskScore riskLevel
  riskFactors { key label contribution } affectedServices backoutPlan testPlan plannedStart plannedEnd
  emergencyJustification reviewDueAt reviewedAt failureReason submittedAt approvedAt implementedAt completedAt
  allowedTransitions requester { id displayName } approvals { approver { id } decision comment approverRoles }`;

export interface Change {
  id: string;
  title: string;
  type: string;
  priority: string;
  status: string;
  version: number;
  riskScore: number | null;
  riskLevel: string | null;
  riskFactors: { key: string; label: string; contribution: number }[] | null;
  affectedServices: string[];
  plannedStart: string | null;
  plannedEnd: string | null;
  emergencyJustification: string | null;
  reviewDueAt: string | null;
  reviewedAt: string | null;
  failureReason: string | null;
  approvedAt: string | null;
  allowedTransitions: string[];
  requester: { id: string; displayName: string | null };
  approvals: {
    approver: { id: string };
    decision: string;
    comment: string | null;
    approverRoles: string[];
  }[];
}

/** Tokens for one tenant's cast: a requester, three approvers, a change manager and an admin. */
export async function cast(tenant = 'acme') {
  const t = (sub: string, roles: Role[]) => token({ sub, tenant, roles, name: sub });
  return {
    tenant,
    requester: await t('rita', ['requester']),
    approver1: await t('abe', ['approver']),
    approver2: await t('ada', ['approver']),
    approver3: await t('ali', ['approver']),
    manager: await t('max', ['change_manager']),
    admin: await t('root', ['admin']),
    viewer: await t('vic', ['viewer']),
  };
}

export const CREATE = `mutation Create($input: CreateChangeRequestInput!) {
  createChangeRequest(input: $input) { ${CHANGE_FIELDS} } }`;

/** Defaults give a NORMAL, MEDIUM-risk change on one service, with both plans. */
export function changeInput(overrides: Record<string, unknown> = {}) {
  return {
    title: 'Upgrade the payments database',
    description: 'Minor version upgrade of Postgres on the payments cluster.',
    type: 'NORMAL',
    impact: 'MEDIUM',
    urgency: 'MEDIUM',
    affectedServices: ['payments-db'],
    implementationPlan: 'Fail over, upgrade the replica, fail back.',
    backoutPlan: 'Fail back to the old primary.',
    testPlan: 'Run the smoke suite against the cluster.',
    ...overrides,
  };
}

export async function createChange(tok: string, overrides: Record<string, unknown> = {}): Promise<Change> {
  const data = await gqlOk<{ createChangeRequest: Change }>(CREATE, { input: changeInput(overrides) }, tok);
  return data.createChangeRequest;
}

/** Runs a mutation that takes `id` (and optional extra args) and returns a ChangeRequest. */
export function changeMutation(name: string, extraArgs: Record<string, string> = {}) {
  const defs = Object.entries(extraArgs)
    .map(([k, type]) => `, $${k}: ${type}`)
    .join('');
  const args = Object.keys(extraArgs)
    .map((k) => `, ${k}: $${k}`)
    .join('');
  return `mutation($id: ID!${defs}) { ${name}(id: $id${args}) { ${CHANGE_FIELDS} } }`;
}

export const SUBMIT = changeMutation('submitChange');
export const APPROVE = `mutation($id: ID!, $decision: Vote, $comment: String, $expectedVersion: Int) {
  approveChange(id: $id, decision: $decision, comment: $comment, expectedVersion: $expectedVersion) {
    change { ${CHANGE_FIELDS} } approvalsReceived approvalsRequired changeManagerRequired stillNeeded } }`;
export const SCHEDULE = `mutation($id: ID!, $start: DateTime!, $end: DateTime!) {
  scheduleChange(id: $id, plannedStart: $start, plannedEnd: $end) {
    change { ${CHANGE_FIELDS} } conflicts { changeId services plannedStart plannedEnd } freezeWindowsOverridden } }`;
export const START = changeMutation('startImplementation');
export const COMPLETE = changeMutation('completeChange');
export const FAIL = changeMutation('failChange', { reason: 'String!' });
export const ROLL_BACK = changeMutation('rollBackChange', { reason: 'String' });
export const CANCEL = changeMutation('cancelChange', { reason: 'String' });
export const OVERRIDE = changeMutation('emergencyOverride', { justification: 'String!' });
export const GET = `query($id: ID!) { change(id: $id) { ${CHANGE_FIELDS} } }`;

export async function submit(tok: string, id: string): Promise<Change> {
  return (await gqlOk<{ submitChange: Change }>(SUBMIT, { id }, tok)).submitChange;
}

export async function approve(tok: string, id: string, comment = 'Looks good'): Promise<Change> {
  return (await gqlOk<{ approveChange: { change: Change } }>(APPROVE, { id, comment }, tok)).approveChange
    .change;
}

/** An ISO instant `days` from now (whole hours, so tests read well). */
export function inDays(days: number, hour = 10): string {
  const d = new Date(Date.now() + days * 86_400_000);
  d.setUTCHours(hour, 0, 0, 0);
  return d.toISOString();
}

/** Creates a change and takes it through submission and enough approvals to be APPROVED. */
export async function approvedChange(
  c: Awaited<ReturnType<typeof cast>>,
  overrides: Record<string, unknown> = {},
) {
  const created = await createChange(c.requester, overrides);
  let change = await submit(c.requester, created.id);
  const voters = [c.approver1, c.approver2, c.manager];
  for (const voter of voters) {
    if (change.status !== 'PENDING_APPROVAL') break;
    change = await approve(voter, change.id);
  }
  if (change.status !== 'APPROVED') throw new Error(`expected APPROVED, got ${change.status}`);
  return change;
}

export { gql, gqlOk };

/** Schedules a change as the change manager; returns the whole ScheduleResult. */
export async function schedule(tok: string, id: string, start: string, end: string) {
  const data = await gqlOk<{
    scheduleChange: {
      change: Change;
      conflicts: { changeId: string; services: string[]; plannedStart: string; plannedEnd: string }[];
      freezeWindowsOverridden: string[];
    };
  }>(SCHEDULE, { id, start, end }, tok);
  return data.scheduleChange;
}

/** Every status a change can rest in (SUBMITTED is only passed through on submit). */
export type RestingStatus =
  | 'DRAFT'
  | 'PENDING_APPROVAL'
  | 'APPROVED'
  | 'REJECTED'
  | 'SCHEDULED'
  | 'IMPLEMENTING'
  | 'COMPLETED'
  | 'FAILED'
  | 'ROLLED_BACK'
  | 'CANCELLED';

/**
 * Creates a change (default inputs: NORMAL, MEDIUM risk) and drives it through the API into
 * `status`, the way a user would. Scheduled windows are `days` from now, 10:00–12:00 UTC.
 */
export async function changeInState(
  c: Awaited<ReturnType<typeof cast>>,
  status: RestingStatus,
  overrides: Record<string, unknown> = {},
  days = 1,
): Promise<Change> {
  const run = async (query: string, vars: Record<string, unknown>, tok: string) =>
    Object.values(await gqlOk<Record<string, Change>>(query, vars, tok))[0] as Change;
  switch (status) {
    case 'DRAFT':
      return createChange(c.requester, overrides);
    case 'CANCELLED': {
      const draft = await createChange(c.requester, overrides);
      return run(CANCEL, { id: draft.id, reason: 'No longer needed' }, c.requester);
    }
    case 'PENDING_APPROVAL':
    case 'REJECTED': {
      const draft = await createChange(c.requester, overrides);
      const pending = await submit(c.requester, draft.id);
      if (status === 'PENDING_APPROVAL') return pending;
      const data = await gqlOk<{ approveChange: { change: Change } }>(
        APPROVE,
        { id: pending.id, decision: 'REJECT', comment: 'Too risky this week' },
        c.approver1,
      );
      return data.approveChange.change;
    }
    default: {
      const approved = await approvedChange(c, overrides);
      if (status === 'APPROVED') return approved;
      const { change: scheduled } = await schedule(
        c.manager,
        approved.id,
        inDays(days, 10),
        inDays(days, 12),
      );
      if (status === 'SCHEDULED') return scheduled;
      const implementing = await run(START, { id: approved.id }, c.manager);
      if (status === 'IMPLEMENTING') return implementing;
      if (status === 'COMPLETED') return run(COMPLETE, { id: approved.id }, c.manager);
      const failed = await run(FAIL, { id: approved.id, reason: 'Replica did not come back' }, c.manager);
      if (status === 'FAILED') return failed;
      return run(ROLL_BACK, { id: approved.id, reason: 'Backout plan ran' }, c.manager);
    }
  }
}

/**
 * Runs an operation that must fail and returns its first error (code, message, extensions) and
 * the HTTP status; throws when it unexpectedly succeeds.
 */
export async function gqlError(query: string, variables: Record<string, unknown>, tok: string) {
  const r = await gql(query, variables, { token: tok });
  const error = r.errors?.[0];
  if (!error) throw new Error(`expected an error, got ${JSON.stringify(r.data)}`);
  return { status: r.status, code: error.extensions?.code, message: error.message, error };
}

import type { ResultOf } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import {
  ApproveChangeDocument,
  CancelChangeDocument,
  type ChangeFieldsFragment,
  ChangeFieldsFragmentDoc,
  CompleteChangeDocument,
  CreateChangeDocument,
  EmergencyOverrideDocument,
  FailChangeDocument,
  GetChangeDocument,
  RejectChangeDocument,
  RollBackChangeDocument,
  ScheduleChangeDocument,
  StartImplementationDocument,
  SubmitChangeDocument,
} from '../../operations.generated';
import type { Role } from '../../src/domain/types';
import { token } from './auth';
import { fragmentFields, gql, gqlOk } from './graphql';

/**
 * The fields most tests read back from a change (the ChangeFields fragment of changes.graphql), for
 * tests that write their own operation text around them.
 */
export const CHANGE_FIELDS = fragmentFields(ChangeFieldsFragmentDoc);

export type Change = ChangeFieldsFragment;

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

// The operations as text, for tests that keep them in tables of their own; the helpers below send
// the typed documents.
export const CREATE = print(CreateChangeDocument);

/**
 * Defaults give a NORMAL, MEDIUM-risk change on one service, with both plans. `overrides` is loose
 * on purpose: validation tests send what the schema refuses.
 */
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
  const input = changeInput(overrides);
  // The input is loose (see changeInput), so the document's variables type cannot check it.
  const data = await gqlOk<ResultOf<typeof CreateChangeDocument>>(
    print(CreateChangeDocument),
    { input },
    tok,
  );
  return data.createChangeRequest;
}

export const SUBMIT = print(SubmitChangeDocument);
export const APPROVE = print(ApproveChangeDocument);
export const REJECT = print(RejectChangeDocument);
export const SCHEDULE = print(ScheduleChangeDocument);
export const START = print(StartImplementationDocument);
export const COMPLETE = print(CompleteChangeDocument);
export const FAIL = print(FailChangeDocument);
export const ROLL_BACK = print(RollBackChangeDocument);
export const CANCEL = print(CancelChangeDocument);
export const OVERRIDE = print(EmergencyOverrideDocument);
export const GET = print(GetChangeDocument);

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

export async function submit(tok: string, id: string): Promise<Change> {
  return (await gqlOk(SubmitChangeDocument, { id }, tok)).submitChange;
}

export async function approve(tok: string, id: string, comment = 'Looks good'): Promise<Change> {
  return (await gqlOk(ApproveChangeDocument, { id, comment }, tok)).approveChange.change;
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
  return (await gqlOk(ScheduleChangeDocument, { id, start, end }, tok)).scheduleChange;
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
  switch (status) {
    case 'DRAFT':
      return createChange(c.requester, overrides);
    case 'CANCELLED': {
      const draft = await createChange(c.requester, overrides);
      return (await gqlOk(CancelChangeDocument, { id: draft.id, reason: 'No longer needed' }, c.requester))
        .cancelChange;
    }
    case 'PENDING_APPROVAL':
    case 'REJECTED': {
      const draft = await createChange(c.requester, overrides);
      const pending = await submit(c.requester, draft.id);
      if (status === 'PENDING_APPROVAL') return pending;
      const data = await gqlOk(
        RejectChangeDocument,
        { id: pending.id, reason: 'Too risky this week' },
        c.approver1,
      );
      return data.rejectChange.change;
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
      const id = approved.id;
      const implementing = (await gqlOk(StartImplementationDocument, { id }, c.manager)).startImplementation;
      if (status === 'IMPLEMENTING') return implementing;
      if (status === 'COMPLETED')
        return (await gqlOk(CompleteChangeDocument, { id }, c.manager)).completeChange;
      const reason = 'Replica did not come back';
      const failed = (await gqlOk(FailChangeDocument, { id, reason }, c.manager)).failChange;
      if (status === 'FAILED') return failed;
      return (await gqlOk(RollBackChangeDocument, { id, reason: 'Backout plan ran' }, c.manager))
        .rollBackChange;
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

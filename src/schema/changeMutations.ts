import { decideApproval } from '../usecases/changes/approval';
import { completeEmergencyReview, emergencyOverride } from '../usecases/changes/emergency';
import {
  assertMayAttachRunbook,
  createChange,
  moveChange,
  standardRequiresTemplate,
  submitChange,
  updateChange,
} from '../usecases/changes/lifecycle';
import { assessChangeRisk } from '../usecases/changes/risk';
import { scheduleChange } from '../usecases/changes/schedule';
import { authed } from '../usecases/context';
import { afterChangeDecided, assertRunbookExists, startImplementation } from '../usecases/workflows/runbooks';
import { builder } from './builder';
import { ChangeRef } from './change';
import { ChangeTypeEnum, LevelEnum, VoteEnum } from './enums';
import { ApprovalResultRef, RiskResultRef, ScheduleResultRef } from './mutationResults';

const TITLE = { minLength: 3, maxLength: 200 } as const;
const TEXT = { minLength: 1, maxLength: 5000 } as const;
const PLAN = { maxLength: 10000 } as const;
const SERVICES = { minLength: 1, maxLength: 20, items: { minLength: 1, maxLength: 100 } } as const;

const CreateChangeInput = builder.inputType('CreateChangeRequestInput', {
  fields: (t) => ({
    title: t.string({ validate: TITLE }),
    description: t.string({ validate: TEXT }),
    type: t.field({
      type: ChangeTypeEnum,
      defaultValue: 'NORMAL',
      description:
        'NORMAL or EMERGENCY. STANDARD is refused (CHANGE_STANDARD_REQUIRES_TEMPLATE): a standard change ' +
        'comes from a template (createChangeFromTemplate).',
    }),
    impact: t.field({ type: LevelEnum }),
    urgency: t.field({ type: LevelEnum }),
    affectedServices: t.stringList({ validate: SERVICES, description: 'Names of the services touched.' }),
    implementationPlan: t.string({ required: false, validate: PLAN }),
    backoutPlan: t.string({ required: false, validate: PLAN, description: 'How to undo the change.' }),
    testPlan: t.string({ required: false, validate: PLAN, description: 'How success is verified.' }),
    runbookWorkflowId: t.id({
      required: false,
      description: 'Workflow that implements the change. Change managers only (FORBIDDEN otherwise).',
    }),
  }),
});

const UpdateChangeInput = builder.inputType('UpdateChangeRequestInput', {
  description: 'Only given fields change; only a DRAFT can be edited.',
  fields: (t) => ({
    title: t.string({ required: false, validate: TITLE }),
    description: t.string({ required: false, validate: TEXT }),
    type: t.field({
      type: ChangeTypeEnum,
      required: false,
      description: 'NORMAL or EMERGENCY; STANDARD is refused (CHANGE_STANDARD_REQUIRES_TEMPLATE).',
    }),
    impact: t.field({ type: LevelEnum, required: false }),
    urgency: t.field({ type: LevelEnum, required: false }),
    affectedServices: t.stringList({ required: false, validate: SERVICES }),
    implementationPlan: t.string({ required: false, validate: PLAN }),
    backoutPlan: t.string({ required: false, validate: PLAN }),
    testPlan: t.string({ required: false, validate: PLAN }),
    runbookWorkflowId: t.id({
      required: false,
      description: 'Attaches a workflow as the runbook. Change managers only (FORBIDDEN otherwise).',
    }),
  }),
});

const nonNull = <T extends object>(o: T) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined)) as {
    [K in keyof T]?: NonNullable<T[K]>;
  };

builder.mutationFields((t) => {
  const id = () => t.arg.id({ description: 'The change id.' });
  const expectedVersion = () =>
    t.arg.int({
      required: false,
      description: 'The version you read; the mutation fails with CHANGE_VERSION_CONFLICT if it moved on.',
      validate: { min: 1 },
    });
  const reason = (description: string, required: boolean) =>
    t.arg.string({ required, description, validate: { minLength: 1, maxLength: 2000 } });

  return {
    createChangeRequest: t.field({
      type: ChangeRef,
      description:
        'Creates a NORMAL or EMERGENCY change request in DRAFT, with its priority from impact × urgency. ' +
        'A standard change comes from a template: createChangeFromTemplate.',
      authScopes: { requester: true },
      mcp: { name: 'create_change_request' },
      args: { input: t.arg({ type: CreateChangeInput }) },
      resolve: async (_r, { input }, ctx) => {
        const runbookWorkflowId = input.runbookWorkflowId?.toString() ?? null;
        if (input.type === 'STANDARD') throw standardRequiresTemplate();
        if (runbookWorkflowId) assertMayAttachRunbook(authed(ctx));
        await assertRunbookExists(authed(ctx), runbookWorkflowId);
        return createChange(authed(ctx), { ...input, runbookWorkflowId });
      },
    }),
    updateChangeRequest: t.field({
      type: ChangeRef,
      description: 'Edits a DRAFT change (not one created from a standard change template).',
      authScopes: { requester: true },
      mcp: { name: 'update_change_request' },
      args: { id: id(), input: t.arg({ type: UpdateChangeInput }), expectedVersion: expectedVersion() },
      resolve: async (_r, args, ctx) => {
        const patch = nonNull({ ...args.input, runbookWorkflowId: args.input.runbookWorkflowId?.toString() });
        if (patch.type === 'STANDARD') throw standardRequiresTemplate();
        if (patch.runbookWorkflowId) assertMayAttachRunbook(authed(ctx));
        await assertRunbookExists(authed(ctx), patch.runbookWorkflowId);
        return updateChange(authed(ctx), String(args.id), patch, args.expectedVersion);
      },
    }),
    submitChange: t.field({
      type: ChangeRef,
      description:
        'Submits a DRAFT: assesses its risk, then pre-approves a STANDARD change (from a template that is ' +
        'still ACTIVE) whose risk is LOW, or sends it to the CAB.',
      authScopes: { requester: true },
      mcp: { name: 'submit_change' },
      args: { id: id(), expectedVersion: expectedVersion() },
      resolve: async (_r, args, ctx) => {
        const change = await submitChange(authed(ctx), String(args.id), args.expectedVersion);
        await afterChangeDecided(authed(ctx), change);
        return change;
      },
    }),
    assessRisk: t.field({
      type: RiskResultRef,
      description:
        'Re-assesses and stores the risk score of a change, with the factors behind it. The requester may re-assess their own change; anyone else needs change_manager. On a PENDING_APPROVAL change it changes the quorum the next vote is judged against, never the status.',
      authScopes: { $any: { requester: true, approver: true } },
      mcp: { name: 'assess_risk', depth: 3, annotations: { idempotentHint: true } },
      args: { id: id(), expectedVersion: expectedVersion() },
      resolve: (_r, args, ctx) => assessChangeRisk(authed(ctx), String(args.id), args.expectedVersion),
    }),
    approveChange: t.field({
      type: ApprovalResultRef,
      description:
        'Records a CAB vote. Any rejection rejects; enough approvals for the risk level approve. ' +
        'The requester may not vote on their own change.',
      authScopes: { approver: true },
      mcp: { name: 'approve_change', depth: 3, annotations: { destructiveHint: true } },
      args: {
        id: id(),
        decision: t.arg({ type: VoteEnum, defaultValue: 'APPROVE' }),
        comment: reason('Why; required when rejecting.', false),
        expectedVersion: expectedVersion(),
      },
      validate: [
        (args) => args.decision !== 'REJECT' || !!args.comment?.trim(),
        { message: 'comment is required when rejecting', path: ['comment'] },
      ],
      resolve: async (_r, args, ctx) => {
        const result = await decideApproval(
          authed(ctx),
          String(args.id),
          args.decision,
          args.comment ?? null,
          args.expectedVersion,
        );
        await afterChangeDecided(authed(ctx), result.change);
        return result;
      },
    }),
    scheduleChange: t.field({
      type: ScheduleResultRef,
      description:
        'Schedules an APPROVED change. Freeze windows block it unless it is EMERGENCY; overlapping ' +
        'changes on shared services are reported as conflicts.',
      authScopes: { changeManager: true },
      mcp: { name: 'schedule_change', depth: 3 },
      args: {
        id: id(),
        plannedStart: t.arg({ type: 'DateTime' }),
        plannedEnd: t.arg({ type: 'DateTime' }),
        expectedVersion: expectedVersion(),
      },
      resolve: (_r, args, ctx) =>
        scheduleChange(
          authed(ctx),
          String(args.id),
          args.plannedStart,
          args.plannedEnd,
          args.expectedVersion,
        ),
    }),
    startImplementation: t.field({
      type: ChangeRef,
      description:
        'SCHEDULED → IMPLEMENTING. A change with a runbook starts its workflow; the execution’s outcome ' +
        'then completes the change (SUCCEEDED) or fails it (anything else), as the workflow engine.',
      authScopes: { changeManager: true },
      mcp: { name: 'start_implementation' },
      args: { id: id(), expectedVersion: expectedVersion() },
      resolve: (_r, args, ctx) => startImplementation(authed(ctx), String(args.id), args.expectedVersion),
    }),
    completeChange: t.field({
      type: ChangeRef,
      description: 'IMPLEMENTING → COMPLETED.',
      authScopes: { changeManager: true },
      mcp: { name: 'complete_change' },
      args: { id: id(), expectedVersion: expectedVersion() },
      resolve: (_r, args, ctx) =>
        moveChange(authed(ctx), String(args.id), 'COMPLETED', null, args.expectedVersion),
    }),
    failChange: t.field({
      type: ChangeRef,
      description: 'IMPLEMENTING → FAILED, with what went wrong.',
      authScopes: { changeManager: true },
      mcp: { name: 'fail_change' },
      args: { id: id(), reason: reason('What went wrong.', true), expectedVersion: expectedVersion() },
      resolve: (_r, args, ctx) =>
        moveChange(authed(ctx), String(args.id), 'FAILED', args.reason, args.expectedVersion),
    }),
    rollBackChange: t.field({
      type: ChangeRef,
      description: 'FAILED → ROLLED_BACK once the backout plan has run.',
      authScopes: { changeManager: true },
      mcp: { name: 'roll_back_change' },
      args: { id: id(), reason: reason('Notes on the rollback.', false), expectedVersion: expectedVersion() },
      resolve: (_r, args, ctx) =>
        moveChange(authed(ctx), String(args.id), 'ROLLED_BACK', args.reason ?? null, args.expectedVersion),
    }),
    cancelChange: t.field({
      type: ChangeRef,
      description: 'Cancels a change that has not started implementation.',
      authScopes: { requester: true },
      mcp: { name: 'cancel_change', annotations: { destructiveHint: true } },
      args: { id: id(), reason: reason('Why it is cancelled.', false), expectedVersion: expectedVersion() },
      resolve: (_r, args, ctx) =>
        moveChange(authed(ctx), String(args.id), 'CANCELLED', args.reason ?? null, args.expectedVersion),
    }),
    emergencyOverride: t.field({
      type: ChangeRef,
      description:
        'Admin only: approves an EMERGENCY change at once with a written justification; a ' +
        'post-implementation review falls due within 48 hours.',
      authScopes: { admin: true },
      mcp: { name: 'emergency_override' },
      args: {
        id: id(),
        justification: t.arg.string({ validate: { minLength: 20, maxLength: 5000 } }),
        expectedVersion: expectedVersion(),
      },
      resolve: (_r, args, ctx) =>
        emergencyOverride(authed(ctx), String(args.id), args.justification, args.expectedVersion),
    }),
    completeEmergencyReview: t.field({
      type: ChangeRef,
      description: 'Records the post-implementation review of an emergency override.',
      authScopes: { changeManager: true },
      mcp: { name: 'complete_emergency_review' },
      args: {
        id: id(),
        notes: t.arg.string({ validate: { minLength: 10, maxLength: 5000 } }),
        expectedVersion: expectedVersion(),
      },
      resolve: (_r, args, ctx) =>
        completeEmergencyReview(authed(ctx), String(args.id), args.notes, args.expectedVersion),
    }),
  };
});

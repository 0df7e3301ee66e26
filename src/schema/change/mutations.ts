import { approveChange, rejectChange, VOTE_TEXT_MAX } from '../../usecases/changes/approval';
import { completeEmergencyReview, emergencyOverride } from '../../usecases/changes/emergency';
import { createChange, moveChange, submitChange, updateChange } from '../../usecases/changes/lifecycle';
import { assessChangeRisk } from '../../usecases/changes/risk';
import { scheduleChange } from '../../usecases/changes/schedule';
import { startImplementation } from '../../usecases/workflows/runbooks';
import { builder } from '../builder';
import { ChangeTypeEnum, LevelEnum } from '../enums';
import { ApprovalResultRef, RiskResultRef, ScheduleResultRef } from './results';
import { ChangeRef } from './type';

/**
 * The plain lifecycle moves, one MCP tool whose `action` picks the move (src/mcp/actions.ts):
 * their arguments agree (the change, its version, a reason for some) and so do their hints.
 */
const TRANSITION_TOOL = {
  name: 'transition_change',
  toolset: 'changes',
  description:
    'Moves a change on; `action` says which move. submit: DRAFT to the CAB, risk assessed (a LOW-risk ' +
    'standard change is pre-approved). start_implementation: SCHEDULED to IMPLEMENTING, starting its ' +
    'runbook. complete: IMPLEMENTING to COMPLETED. fail: IMPLEMENTING to FAILED. roll_back: FAILED to ' +
    'ROLLED_BACK (final; asks to confirm). cancel: before implementation. complete_review: the ' +
    'post-implementation review an emergency override owes.',
} as const;

const TITLE = { minLength: 3, maxLength: 200 } as const;
const TEXT = { minLength: 1, maxLength: 5000 } as const;
const PLAN = { maxLength: 10000 } as const;
const SERVICES = { minLength: 1, maxLength: 20, items: { minLength: 1, maxLength: 100 } } as const;

const CreateChangeInput = builder.inputType('CreateChangeRequestInput', {
  description: 'A new change request; it starts as a DRAFT of the caller.',
  fields: (t) => ({
    title: t.string({ validate: TITLE, description: 'A one-line summary (3–200 characters).' }),
    description: t.string({ validate: TEXT, description: 'What changes and why.' }),
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
    implementationPlan: t.string({
      required: false,
      validate: PLAN,
      description: 'How the change is carried out.',
    }),
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
    title: t.string({
      required: false,
      validate: TITLE,
      description: 'A one-line summary (3–200 characters).',
    }),
    description: t.string({ required: false, validate: TEXT, description: 'What changes and why.' }),
    type: t.field({
      type: ChangeTypeEnum,
      required: false,
      description: 'NORMAL or EMERGENCY; STANDARD is refused (CHANGE_STANDARD_REQUIRES_TEMPLATE).',
    }),
    impact: t.field({ type: LevelEnum, required: false }),
    urgency: t.field({ type: LevelEnum, required: false }),
    affectedServices: t.stringList({
      required: false,
      validate: SERVICES,
      description: 'Names of the services touched (replaces the list).',
    }),
    implementationPlan: t.string({
      required: false,
      validate: PLAN,
      description: 'How the change is carried out.',
    }),
    backoutPlan: t.string({ required: false, validate: PLAN, description: 'How to undo the change.' }),
    testPlan: t.string({ required: false, validate: PLAN, description: 'How success is verified.' }),
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
      description: 'The version you read; CHANGE_VERSION_CONFLICT if it has moved on.',
      validate: { min: 1 },
    });
  const reason = (description: string, required: boolean) =>
    t.arg.string({ required, description, validate: { minLength: 1, maxLength: 2000 } });

  return {
    createChangeRequest: t.withAuth({ requester: true }).field({
      type: ChangeRef,
      description:
        'Creates a NORMAL or EMERGENCY change request in DRAFT, with its priority from impact × urgency. ' +
        'A standard change comes from a template: createChangeFromTemplate.',
      mcp: {
        name: 'create_change_request',
        description:
          'A NORMAL or EMERGENCY change in DRAFT; priority from impact × urgency. Standard changes: ' +
          'create_standard_change.',
        toolset: 'changes',
        changes: ['priority'],
        annotations: {
          destructiveHint: false,
          idempotentHint: false,
          openWorldHint: false,
          why: 'Adds a DRAFT change; a repeat adds another (send an idempotencyKey to retry safely).',
        },
      },
      args: { input: t.arg({ type: CreateChangeInput }) },
      resolve: (_r, { input }, ctx) =>
        createChange(ctx, { ...input, runbookWorkflowId: input.runbookWorkflowId ?? null }),
    }),
    updateChangeRequest: t.withAuth({ requester: true }).field({
      type: ChangeRef,
      description: 'Edits a DRAFT change (not one created from a standard change template).',
      mcp: {
        name: 'update_change_request',
        toolset: 'delivery',
        changes: ['priority'],
        annotations: {
          destructiveHint: true,
          idempotentHint: false,
          openWorldHint: false,
          why: "Overwrites the draft's fields; every call is a new version and audit event.",
        },
      },
      args: { id: id(), input: t.arg({ type: UpdateChangeInput }), expectedVersion: expectedVersion() },
      resolve: (_r, args, ctx) => updateChange(ctx, args.id, nonNull(args.input), args.expectedVersion),
    }),
    submitChange: t.withAuth({ requester: true }).field({
      type: ChangeRef,
      description:
        'Submits a DRAFT: assesses its risk, then pre-approves a STANDARD change (from a template that is ' +
        'still ACTIVE) whose risk is LOW, or sends it to the CAB.',
      mcp: {
        ...TRANSITION_TOOL,
        action: 'submit',
        changes: ['riskScore', 'riskLevel'],
        annotations: {
          destructiveHint: false,
          idempotentHint: true,
          openWorldHint: true,
          why: 'Sends a DRAFT to the CAB; a repeat is refused (no longer a DRAFT). A pre-approved change may start its change-approved runbook, which calls outside systems.',
        },
      },
      args: { id: id(), expectedVersion: expectedVersion() },
      resolve: (_r, args, ctx) => submitChange(ctx, args.id, args.expectedVersion),
    }),
    assessRisk: t.withAuth({ $any: { requester: true, approver: true } }).field({
      type: RiskResultRef,
      description:
        'Re-assesses and stores the risk score of a change, with the factors behind it. The requester may re-assess their own change; anyone else needs change_manager. On a PENDING_APPROVAL change it changes the quorum the next vote is judged against, never the status.',
      mcp: {
        name: 'assess_risk',
        description:
          "Re-assesses and stores a change's risk score and factors (yours, or any as change_manager); " +
          'never changes the status.',
        toolset: 'changes',
        annotations: {
          destructiveHint: false,
          idempotentHint: true,
          openWorldHint: false,
          why: 'Recomputes the risk from the change as it stands; a repeat computes the same.',
        },
      },
      args: { id: id(), expectedVersion: expectedVersion() },
      resolve: (_r, args, ctx) => assessChangeRisk(ctx, args.id, args.expectedVersion),
    }),
    approveChange: t.withAuth({ approver: true }).field({
      type: ApprovalResultRef,
      description:
        'Records your CAB approval of a change PENDING_APPROVAL; it never rejects (that is rejectChange, ' +
        'reject_change over MCP). Enough approvals for the risk level approve the change (VERY_HIGH also needs a ' +
        'change manager). One vote per person; the requester may not vote on their own change.',
      mcp: {
        name: 'approve_change',
        description:
          'Your CAB approval of a PENDING_APPROVAL change (never a rejection). Enough approvals for its ' +
          'risk approve it; VERY_HIGH also needs a change manager. One vote each; not on your own change.',
        toolset: 'changes',
        annotations: {
          destructiveHint: true,
          idempotentHint: true,
          openWorldHint: true,
          why: 'An approval cannot be withdrawn, and the deciding one approves the change, which may start its change-approved runbook (HTTP steps to outside systems); a second vote by the same person is refused.',
        },
      },
      args: {
        id: id(),
        comment: t.arg.string({
          required: false,
          description: `Anything the CAB should know (up to ${VOTE_TEXT_MAX} characters).`,
          validate: { minLength: 1, maxLength: VOTE_TEXT_MAX },
        }),
        expectedVersion: expectedVersion(),
      },
      resolve: (_r, args, ctx) => approveChange(ctx, args.id, args.comment ?? null, args.expectedVersion),
    }),
    rejectChange: t.withAuth({ approver: true }).field({
      type: ApprovalResultRef,
      description:
        'Records your CAB rejection of a change PENDING_APPROVAL, with the reason: one rejection ' +
        'rejects the change at once, and REJECTED is final. One vote per person; the requester may ' +
        'not vote on their own change.',
      mcp: {
        name: 'reject_change',
        description:
          'Your CAB rejection of a PENDING_APPROVAL change, with the reason: it rejects the change at ' +
          'once, for good. One vote each; not on your own change.',
        toolset: 'changes',
        annotations: {
          destructiveHint: true,
          idempotentHint: true,
          openWorldHint: false,
          why: 'A rejection cannot be withdrawn and ends the change for good (approval gates waiting on it fail); a second vote by the same person is refused. It never starts a runbook, so it reaches nothing outside ChangeFlow.',
        },
      },
      args: {
        id: id(),
        reason: t.arg.string({
          description: `Why the change is rejected, for the requester and the audit trail (1–${VOTE_TEXT_MAX} characters, not blank).`,
          validate: {
            minLength: 1,
            maxLength: VOTE_TEXT_MAX,
            // Also sent to agents as the JSON Schema `pattern`.
            regex: [/\S/, { message: 'a rejection must say why (not only whitespace)' }],
          },
        }),
        expectedVersion: expectedVersion(),
      },
      resolve: (_r, args, ctx) => rejectChange(ctx, args.id, args.reason, args.expectedVersion),
    }),
    scheduleChange: t.withAuth({ changeManager: true }).field({
      type: ScheduleResultRef,
      description:
        'Schedules an APPROVED change. Freeze windows block it unless it is EMERGENCY; overlapping ' +
        'changes on shared services are reported as conflicts.',
      mcp: {
        name: 'schedule_change',
        description:
          'Schedules an APPROVED change; freeze windows block it unless EMERGENCY, overlaps are reported ' +
          'as conflicts.',
        toolset: 'changes',
        annotations: {
          destructiveHint: false,
          idempotentHint: true,
          openWorldHint: false,
          why: 'Adds the window to an APPROVED change; a repeat is refused (already SCHEDULED).',
        },
      },
      args: {
        id: id(),
        plannedStart: t.arg({
          type: 'DateTime',
          description: 'When the window opens (ISO 8601, in the future).',
        }),
        plannedEnd: t.arg({ type: 'DateTime', description: 'When the window closes (after plannedStart).' }),
        expectedVersion: expectedVersion(),
      },
      resolve: (_r, args, ctx) =>
        scheduleChange(ctx, args.id, args.plannedStart, args.plannedEnd, args.expectedVersion),
    }),
    startImplementation: t.withAuth({ changeManager: true }).field({
      type: ChangeRef,
      description:
        'SCHEDULED → IMPLEMENTING. A change with a runbook starts its workflow; the execution’s outcome ' +
        'then completes the change (SUCCEEDED) or fails it (anything else), as the workflow engine.',
      mcp: {
        ...TRANSITION_TOOL,
        action: 'start_implementation',
        annotations: {
          destructiveHint: true,
          idempotentHint: true,
          openWorldHint: true,
          why: 'Starts the change and its runbook, whose HTTP steps reach outside systems and cannot be taken back; a repeat is refused.',
        },
      },
      args: { id: id(), expectedVersion: expectedVersion() },
      resolve: (_r, args, ctx) => startImplementation(ctx, args.id, args.expectedVersion),
    }),
    completeChange: t.withAuth({ changeManager: true }).field({
      type: ChangeRef,
      description: 'IMPLEMENTING → COMPLETED.',
      mcp: {
        ...TRANSITION_TOOL,
        action: 'complete',
        annotations: {
          destructiveHint: true,
          idempotentHint: true,
          openWorldHint: false,
          why: 'COMPLETED is final; a repeat is refused.',
        },
      },
      args: { id: id(), expectedVersion: expectedVersion() },
      resolve: (_r, args, ctx) => moveChange(ctx, args.id, 'COMPLETED', null, args.expectedVersion),
    }),
    failChange: t.withAuth({ changeManager: true }).field({
      type: ChangeRef,
      description: 'IMPLEMENTING → FAILED, with what went wrong.',
      mcp: {
        ...TRANSITION_TOOL,
        action: 'fail',
        annotations: {
          destructiveHint: true,
          idempotentHint: true,
          openWorldHint: false,
          why: 'FAILED ends the implementation for good (only a roll-back follows); a repeat is refused.',
        },
      },
      args: { id: id(), reason: reason('What went wrong.', true), expectedVersion: expectedVersion() },
      resolve: (_r, args, ctx) => moveChange(ctx, args.id, 'FAILED', args.reason, args.expectedVersion),
    }),
    rollBackChange: t.withAuth({ changeManager: true }).field({
      type: ChangeRef,
      description: 'FAILED → ROLLED_BACK once the backout plan has run.',
      mcp: {
        ...TRANSITION_TOOL,
        action: 'roll_back',
        annotations: {
          destructiveHint: true,
          idempotentHint: true,
          openWorldHint: false,
          why: 'ROLLED_BACK is final; a repeat is refused.',
        },
      },
      args: { id: id(), reason: reason('Notes on the rollback.', false), expectedVersion: expectedVersion() },
      resolve: (_r, args, ctx) =>
        moveChange(ctx, args.id, 'ROLLED_BACK', args.reason ?? null, args.expectedVersion),
    }),
    cancelChange: t.withAuth({ requester: true }).field({
      type: ChangeRef,
      description: 'Cancels a change that has not started implementation.',
      mcp: {
        ...TRANSITION_TOOL,
        action: 'cancel',
        annotations: {
          destructiveHint: true,
          idempotentHint: true,
          openWorldHint: false,
          why: 'CANCELLED is final; a repeat is refused.',
        },
      },
      args: { id: id(), reason: reason('Why it is cancelled.', false), expectedVersion: expectedVersion() },
      resolve: (_r, args, ctx) =>
        moveChange(ctx, args.id, 'CANCELLED', args.reason ?? null, args.expectedVersion),
    }),
    emergencyOverride: t.withAuth({ admin: true }).field({
      type: ChangeRef,
      description:
        'Admin only: approves an EMERGENCY change at once with a written justification; a ' +
        'post-implementation review falls due within 48 hours.',
      mcp: {
        name: 'emergency_override',
        description:
          'Admin: approves an EMERGENCY change at once with a justification; a review falls due within 48 ' +
          'hours.',
        toolset: 'changes',
        changes: ['approvedAt', 'reviewDueAt'],
        annotations: {
          destructiveHint: true,
          idempotentHint: true,
          openWorldHint: true,
          why: 'Approves at once without the CAB, cannot be undone, and may start the change-approved runbook; a repeat is refused (already APPROVED).',
        },
      },
      args: {
        id: id(),
        justification: t.arg.string({
          validate: { minLength: 20, maxLength: 5000 },
          description: 'Why this cannot wait for the CAB (20–5000 characters); kept in the audit trail.',
        }),
        expectedVersion: expectedVersion(),
      },
      resolve: (_r, args, ctx) => emergencyOverride(ctx, args.id, args.justification, args.expectedVersion),
    }),
    completeEmergencyReview: t.withAuth({ changeManager: true }).field({
      type: ChangeRef,
      description: 'Records the post-implementation review of an emergency override.',
      mcp: {
        ...TRANSITION_TOOL,
        action: 'complete_review',
        changes: ['reviewedAt'],
        annotations: {
          destructiveHint: false,
          idempotentHint: true,
          openWorldHint: false,
          why: 'Adds the review; a second review is refused.',
        },
      },
      args: {
        id: id(),
        notes: t.arg.string({
          validate: { minLength: 10, maxLength: 5000 },
          description: 'What the post-implementation review found (10–5000 characters).',
        }),
        expectedVersion: expectedVersion(),
      },
      resolve: (_r, args, ctx) => completeEmergencyReview(ctx, args.id, args.notes, args.expectedVersion),
    }),
  };
});

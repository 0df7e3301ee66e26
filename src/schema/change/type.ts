import { allowedTransitions } from '../../domain/stateMachine';
import type { ApprovalRecord, ChangeRecord, RiskFactor } from '../../domain/types';
import { builder } from '../builder';
import {
  ApprovalDecisionEnum,
  ChangeStatusEnum,
  ChangeTypeEnum,
  LevelEnum,
  PriorityEnum,
  RiskLevelEnum,
} from '../enums';
import { firstArg, firstOf } from '../listArgs';
import { UserRef } from '../user';

export const RiskFactorRef = builder.objectRef<RiskFactor>('RiskFactor').implement({
  description: 'One weighted reason behind a risk score.',
  fields: (t) => ({
    key: t.exposeString('key', { description: 'Stable identifier, e.g. `no_backout_plan`.' }),
    label: t.exposeString('label'),
    contribution: t.exposeInt('contribution', { description: 'Points added to the 0–100 score.' }),
  }),
});

export const ApprovalRef = builder.objectRef<ApprovalRecord>('Approval').implement({
  description: 'One CAB vote on a change.',
  // A vote tool answers with the vote's id and decision (the rest is the caller's own input).
  mcp: { summary: ['id', 'decision'] },
  fields: (t) => ({
    id: t.exposeID('id'),
    changeId: t.exposeID('changeId'),
    approver: t.field({
      type: UserRef,
      description: 'The person who voted; a vote through a delegated API key is its owner’s.',
      resolve: (a, _args, ctx) => ctx.loaders.user.load(a.approverId),
    }),
    approverRoles: t.exposeStringList('approverRoles', {
      description:
        'The roles the person voted with (through a delegated key: the key’s roles its owner holds).',
    }),
    apiKeyId: t.exposeID('apiKeyId', {
      nullable: true,
      description: 'The delegated API key the vote came through; null when cast with the person’s own token.',
    }),
    decision: t.expose('decision', { type: ApprovalDecisionEnum }),
    comment: t.exposeString('comment', {
      nullable: true,
      description: 'The approval’s comment (approveChange), or the rejection’s reason (rejectChange).',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const ChangeRef = builder.objectRef<ChangeRecord>('ChangeRequest').implement({
  description: 'A request for change (RFC) moving through the ITIL lifecycle.',
  mcp: { summary: ['id', 'status', 'version', 'allowedTransitions'] },
  fields: (t) => ({
    id: t.exposeID('id', { description: '`CHG-YYYYMMDD-XXXXXX`' }),
    title: t.exposeString('title'),
    description: t.exposeString('description'),
    type: t.expose('type', { type: ChangeTypeEnum }),
    impact: t.expose('impact', { type: LevelEnum }),
    urgency: t.expose('urgency', { type: LevelEnum }),
    priority: t.expose('priority', { type: PriorityEnum }),
    status: t.expose('status', { type: ChangeStatusEnum }),
    allowedTransitions: t.field({
      type: [ChangeStatusEnum],
      description: 'States this change may move to next.',
      resolve: (c) => [...allowedTransitions(c.status)],
    }),
    requester: t.field({
      type: UserRef,
      resolve: (c, _args, ctx) => ctx.loaders.user.load(c.requesterId),
    }),
    affectedServices: t.exposeStringList('affectedServices'),
    implementationPlan: t.exposeString('implementationPlan', { nullable: true }),
    backoutPlan: t.exposeString('backoutPlan', { nullable: true }),
    testPlan: t.exposeString('testPlan', { nullable: true }),
    riskScore: t.exposeInt('riskScore', { nullable: true, description: '0–100; null until assessed.' }),
    riskLevel: t.expose('riskLevel', { type: RiskLevelEnum, nullable: true }),
    riskFactors: t.field({
      type: [RiskFactorRef],
      nullable: true,
      args: { first: firstArg(t, 20) },
      resolve: (c, { first }) => firstOf(c.riskFactors ?? null, first),
    }),
    approvals: t.field({
      type: [ApprovalRef],
      description: 'CAB votes in the order they were cast.',
      args: { first: firstArg(t, 20) },
      resolve: async (c, { first }, ctx) => firstOf(await ctx.loaders.approvalsByChange.load(c.id), first),
    }),
    plannedStart: t.expose('plannedStart', { type: 'DateTime', nullable: true }),
    plannedEnd: t.expose('plannedEnd', { type: 'DateTime', nullable: true }),
    emergencyJustification: t.exposeString('emergencyJustification', { nullable: true }),
    reviewDueAt: t.expose('reviewDueAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the post-implementation review of an emergency override is due.',
    }),
    reviewedAt: t.expose('reviewedAt', { type: 'DateTime', nullable: true }),
    runbookWorkflowId: t.exposeString('runbookWorkflowId', { nullable: true }),
    runbookAttachedBy: t.exposeString('runbookAttachedBy', {
      nullable: true,
      description:
        'The change manager who attached the runbook (null when a template carried it). A runbook ' +
        'attached by neither never runs.',
    }),
    runbookInputs: t.field({
      type: 'JSON',
      nullable: true,
      description: 'Inputs the runbook runs with beside the change itself (fixed by the template).',
      resolve: (c) => c.runbookInputs as never,
    }),
    templateId: t.exposeString('templateId', {
      nullable: true,
      description: 'The standard change template this change was created from.',
    }),
    templateVersion: t.exposeInt('templateVersion', { nullable: true }),
    failureReason: t.exposeString('failureReason', { nullable: true }),
    version: t.exposeInt('version', {
      description: 'Optimistic concurrency: pass it back as expectedVersion.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    submittedAt: t.expose('submittedAt', { type: 'DateTime', nullable: true }),
    approvedAt: t.expose('approvedAt', { type: 'DateTime', nullable: true }),
    implementedAt: t.expose('implementedAt', { type: 'DateTime', nullable: true }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true }),
  }),
});

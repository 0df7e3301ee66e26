import type { RetentionPolicy } from '../domain/retention';
import {
  AUDIT_RETENTION_YEARS,
  FREE_TEXT_FIELDS,
  METRICS_RETENTION_DAYS,
  RETENTION_BOUNDS,
} from '../domain/retention';
import { eraseUserData, type UserErasure } from '../usecases/erasure';
import { getRetentionPolicy, setRetentionPolicy } from '../usecases/retention';
import { builder } from './builder';

const { stepOutputDays: days, idempotencyHours: hours } = RETENTION_BOUNDS;

const RetentionPolicyRef = builder.objectRef<RetentionPolicy>('RetentionPolicy').implement({
  description: `What the cron prunes of the tenant and what erasure redacts. Audit events are never pruned (kept at least ${AUDIT_RETENTION_YEARS} years, the SOX default); request metrics and hub events are never stored (kept in memory, well inside ${METRICS_RETENTION_DAYS} days).`,
  fields: (t) => ({
    stepOutputDays: t.exposeInt('stepOutputDays', {
      description: 'Days a finished step’s (and execution’s) output is kept; the chain keeps its hash.',
    }),
    idempotencyHours: t.exposeInt('idempotencyHours', {
      description: 'Hours an idempotency record is kept.',
    }),
    eraseFreeText: t.exposeBoolean('eraseFreeText', {
      description: `Whether eraseUserData also redacts the free text the person wrote (${FREE_TEXT_FIELDS.join(', ')}).`,
    }),
    legalHold: t.exposeBoolean('legalHold', {
      description: 'While true nothing of the tenant is pruned and eraseUserData is refused (LEGAL_HOLD).',
    }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', nullable: true }),
    updatedBy: t.exposeString('updatedBy', { nullable: true }),
  }),
});

const UserErasureRef = builder.objectRef<UserErasure>('UserErasure').implement({
  description: 'What an erasure did; the audit trail records it as a `user.erased` event.',
  fields: (t) => ({
    userId: t.exposeID('userId'),
    erasedAt: t.expose('erasedAt', { type: 'DateTime' }),
    redactedEvents: t.exposeInt('redactedEvents', { description: 'Audit events redacted by this call.' }),
    v1RedactedEvents: t.exposeInt('v1RedactedEvents', {
      description: 'Of them, events from before payload hashing, vouched for by the `user.erased` record.',
    }),
    remaining: t.exposeBoolean('remaining', { description: 'More is left to redact: call again.' }),
  }),
});

builder.queryFields((t) => ({
  retentionPolicy: t.withAuth({ admin: true }).field({
    type: RetentionPolicyRef,
    description: 'The tenant’s retention policy (the defaults until an admin sets one).',
    resolve: (_r, _a, ctx) => getRetentionPolicy(ctx),
  }),
}));

builder.mutationFields((t) => ({
  setRetentionPolicy: t.withAuth({ admin: true }).field({
    type: RetentionPolicyRef,
    description: 'Changes the fields given of the tenant’s retention policy (admin; audited).',
    args: {
      stepOutputDays: t.arg.int({ required: false, validate: { min: days.min, max: days.max } }),
      idempotencyHours: t.arg.int({ required: false, validate: { min: hours.min, max: hours.max } }),
      eraseFreeText: t.arg.boolean({ required: false }),
      legalHold: t.arg.boolean({ required: false }),
    },
    resolve: (_r, args, ctx) =>
      setRetentionPolicy(ctx, {
        stepOutputDays: args.stepOutputDays ?? undefined,
        idempotencyHours: args.idempotencyHours ?? undefined,
        eraseFreeText: args.eraseFreeText ?? undefined,
        legalHold: args.legalHold ?? undefined,
      }),
  }),
  eraseUserData: t.withAuth({ admin: true }).field({
    type: UserErasureRef,
    description:
      'Erases a person’s personal data (admin; audited): their name and email, kept from being written back by later tokens, and the free text they wrote when the retention policy says so; the audit chain still verifies. Refused under legal hold (LEGAL_HOLD).',
    args: { userId: t.arg.id({ validate: { minLength: 1, maxLength: 200 } }) },
    resolve: (_r, args, ctx) => eraseUserData(ctx, args.userId),
  }),
}));

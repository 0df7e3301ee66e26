/**
 * A tenant's retention policy (issue 15 item 6): how long what D1 keeps beyond the audit trail
 * stays, whether erasure also redacts the free text a person wrote, and the legal hold that stops
 * both pruning and erasure. Audit events are never pruned.
 */
export interface RetentionPolicy {
  /** Days a finished step's output is kept; then it is cleared (the chain holds its hash only). */
  stepOutputDays: number;
  /** Hours an idempotency record (a mutation's stored response for retries) is kept. */
  idempotencyHours: number;
  /** Whether erasing a person also redacts the free text they wrote (FREE_TEXT_FIELDS). */
  eraseFreeText: boolean;
  /** While set, the cron prunes nothing of the tenant and eraseUserData is refused (LEGAL_HOLD). */
  legalHold: boolean;
  /** Null while the tenant uses the defaults. */
  updatedAt: string | null;
  updatedBy: string | null;
}

export const DEFAULT_RETENTION: RetentionPolicy = {
  stepOutputDays: 90,
  idempotencyHours: 24,
  eraseFreeText: false,
  legalHold: false,
  updatedAt: null,
  updatedBy: null,
};

export const RETENTION_BOUNDS = {
  stepOutputDays: { min: 1, max: 3650 },
  idempotencyHours: { min: 1, max: 24 * 30 },
} as const;

/**
 * Documented, not configurable: audit events are kept (never pruned) at least this long, the SOX
 * default; request metrics and hub events are never written to D1 (they live in memory for the
 * one-minute window of /metrics and the live feeds), so they are far inside their 90 days.
 */
export const AUDIT_RETENTION_YEARS = 7;
export const METRICS_RETENTION_DAYS = 90;

/**
 * The top-level payload fields that hold free text a person writes, redacted by an erasure when
 * the policy says so. Titles stay: they name a change in the evidence.
 */
export const FREE_TEXT_FIELDS: readonly string[] = [
  'description',
  'implementationPlan',
  'backoutPlan',
  'testPlan',
  'emergencyJustification',
  'justification',
  'comment',
  'reason',
];

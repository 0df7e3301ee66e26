import { isRetryableStatus } from './backoff';

/**
 * Step-run failures, classified so people and agents see *why* a step failed and the engine
 * knows whether another try can help. Codes are stable: once shipped, a code keeps its meaning.
 *
 * | code          | class             | meaning (retried?)                                      |
 * |---------------|-------------------|---------------------------------------------------------|
 * | EXECUTION-001 | NETWORK           | connection refused/reset, DNS or TLS failure (yes)      |
 * | EXECUTION-002 | TIMEOUT           | the step's timeout elapsed before a response (yes)      |
 * | EXECUTION-003 | HTTP_STATUS       | status not accepted by the step (408, 429, 5xx only)    |
 * | EXECUTION-004 | VALIDATION        | bad transform/template path, spec or header value (no)  |
 * | EXECUTION-005 | CANCELLED         | execution cancelled; in-flight calls aborted (no)       |
 * | EXECUTION-006 | CIRCUIT_OPEN      | the host's breaker is open; nothing was sent (no)       |
 * | EXECUTION-007 | APPROVAL_REJECTED | an approval gate's change request was REJECTED (no)     |
 * | EXECUTION-008 | OUTPUT_TOO_LARGE  | a step's output is over the size cap (no)               |
 * | EXECUTION-009 | ENGINE            | the durable runner lost the execution (it errored or    |
 * |               |                   | vanished); the watchdog ends it rather than leave it    |
 * |               |                   | RUNNING forever (no)                                    |
 * | EGRESS_DENIED | EGRESS_DENIED     | the rendered URL's host is refused by the egress policy |
 * |               |                   | (egress.ts); nothing was sent (no). Same code as the    |
 * |               |                   | save-time refusal, since it is the same rule            |
 *
 * CIRCUIT_OPEN is not retried inside the step: failing fast is the point of the breaker, and
 * a later execution (or a later step) will be the half-open probe once the cooldown passes.
 */
export const EXECUTION_ERROR_CODES = {
  NETWORK: 'EXECUTION-001',
  TIMEOUT: 'EXECUTION-002',
  HTTP_STATUS: 'EXECUTION-003',
  VALIDATION: 'EXECUTION-004',
  CANCELLED: 'EXECUTION-005',
  CIRCUIT_OPEN: 'EXECUTION-006',
  APPROVAL_REJECTED: 'EXECUTION-007',
  OUTPUT_TOO_LARGE: 'EXECUTION-008',
  ENGINE: 'EXECUTION-009',
  EGRESS_DENIED: 'EGRESS_DENIED',
} as const;

export type ErrorClass = keyof typeof EXECUTION_ERROR_CODES;
export type ExecutionErrorCode = (typeof EXECUTION_ERROR_CODES)[ErrorClass];

/** What went wrong, as the step runner saw it. `status` only matters for `http`. */
export type ErrorKind =
  | 'network'
  | 'timeout'
  | 'http'
  | 'validation'
  | 'cancelled'
  | 'circuit-open'
  | 'approval-rejected'
  | 'output-too-large'
  | 'engine'
  | 'egress-denied';

export interface ErrorInput {
  kind: ErrorKind;
  status?: number;
  message: string;
}

export interface ClassifiedError {
  class: ErrorClass;
  code: ExecutionErrorCode;
  retryable: boolean;
  message: string;
  /** The HTTP status, for HTTP_STATUS errors only. */
  status?: number;
}

const CLASS_OF_KIND: Readonly<Record<ErrorKind, ErrorClass>> = {
  network: 'NETWORK',
  timeout: 'TIMEOUT',
  http: 'HTTP_STATUS',
  validation: 'VALIDATION',
  cancelled: 'CANCELLED',
  'circuit-open': 'CIRCUIT_OPEN',
  'approval-rejected': 'APPROVAL_REJECTED',
  'output-too-large': 'OUTPUT_TOO_LARGE',
  engine: 'ENGINE',
  'egress-denied': 'EGRESS_DENIED',
};

/**
 * Classify a failure. The message is kept as given (the caller must already have removed any
 * secret from it, see `redactSecrets` in template.ts); an `http` error without a status is
 * still HTTP_STATUS but not retryable, since nothing says another try would differ.
 */
export function classifyError(input: ErrorInput): ClassifiedError {
  const cls = CLASS_OF_KIND[input.kind];
  const base = { class: cls, code: EXECUTION_ERROR_CODES[cls], message: input.message };
  switch (cls) {
    case 'NETWORK':
    case 'TIMEOUT':
      return { ...base, retryable: true };
    case 'HTTP_STATUS': {
      const status = input.status;
      if (typeof status !== 'number') return { ...base, retryable: false };
      return { ...base, retryable: isRetryableStatus(status), status };
    }
    default:
      return { ...base, retryable: false };
  }
}

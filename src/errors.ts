import { GraphQLError } from 'graphql';

/**
 * Stable error codes. Callers (people, agents, integrations) branch on these, so a code never
 * changes meaning once shipped.
 */
export const ERROR_STATUS = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  VALIDATION_FAILED: 400,
  BAD_REQUEST: 400,
  CHANGE_NOT_FOUND: 404,
  CHANGE_INVALID_TRANSITION: 409,
  CHANGE_VERSION_CONFLICT: 409,
  CHANGE_NOT_EDITABLE: 409,
  APPROVAL_SELF_APPROVAL: 403,
  APPROVAL_DUPLICATE_VOTE: 409,
  APPROVAL_NOT_PENDING: 409,
  APPROVAL_CHANGE_MANAGER_REQUIRED: 409,
  /** A CAB vote or emergency override through an API key that was not created with delegatedVoting. */
  APPROVAL_REQUIRES_PERSON: 403,
  RISK_NOT_ASSESSED: 409,
  SCHEDULE_INVALID_WINDOW: 400,
  SCHEDULE_FREEZE_WINDOW: 409,
  FREEZE_WINDOW_NOT_FOUND: 404,
  API_KEY_NOT_FOUND: 404,
  EMERGENCY_NOT_ALLOWED: 409,
  /**
   * `type: STANDARD` on a plain create or update: only a change created from an ACTIVE
   * standard-change template (createChangeFromTemplate) is STANDARD.
   */
  CHANGE_STANDARD_REQUIRES_TEMPLATE: 422,
  /** No standard-change template with that id in the caller's tenant. */
  TEMPLATE_NOT_FOUND: 404,
  /** `expectedVersion` is not the template's current version. */
  TEMPLATE_VERSION_CONFLICT: 409,
  /** The template is RETIRED: it can no longer be edited or used for new changes. */
  TEMPLATE_RETIRED: 409,
  /** No workflow with that id in the caller's tenant. */
  'WORKFLOW-001': 404,
  /** A definition that is well-formed but refers to something that does not exist (e.g. a change). */
  'WORKFLOW-002': 400,
  /** `expectedVersion` is not the workflow's current version. */
  'WORKFLOW-003': 409,
  /** Another ACTIVE workflow of the tenant has that name. */
  'WORKFLOW-004': 409,
  /** The workflow is not in a state that allows this (e.g. activating an ACTIVE one). */
  'WORKFLOW-005': 409,
  /** Only an ACTIVE workflow runs. */
  'WORKFLOW-006': 409,
  /** A workflow with PENDING or RUNNING executions cannot be deleted. */
  'WORKFLOW-007': 409,
  /** Webhook: no workflow with that id takes webhooks (unknown, inactive, or no webhook trigger). */
  'WORKFLOW-008': 404,
  /** Webhook: signature or timestamp header missing or malformed. */
  'WORKFLOW-009': 400,
  /** Webhook: the signature does not match the body and timestamp. */
  'WORKFLOW-010': 401,
  /** Webhook: the timestamp is outside the tolerance (too old, or in the future). */
  'WORKFLOW-011': 401,
  /** Webhook: this signed delivery was already received (replay). */
  'WORKFLOW-012': 409,
  /** Webhook: the tenant's secret the trigger names is not set (or does not decrypt). */
  'WORKFLOW-013': 503,
  /** No workflow secret of that name in the caller's tenant (other tenants are never looked at). */
  WORKFLOW_SECRET_NOT_FOUND: 404,
  /** The deployment has no SECRETS_KEY, so workflow secrets can be neither saved nor opened. */
  SECRETS_NOT_CONFIGURED: 503,
  /** No execution with that id in the caller's tenant. (EXECUTION-001…009 classify step failures.) */
  'EXECUTION-010': 404,
  /** The execution already ended: it cannot be cancelled. */
  'EXECUTION-011': 409,
  /** This runtime has no workflow engine (executions need the Workers runtime). */
  'EXECUTION-012': 503,
  /**
   * A workflow HTTP step would call a host the egress policy refuses (loopback, private,
   * metadata, a numeric trick, or not on the tenant's allow-list); the message names the host and
   * the rule. At run time the step fails with the same code (see errorClass.ts).
   */
  EGRESS_DENIED: 400,
  CONCURRENT_MODIFICATION: 409,
  IDEMPOTENCY_IN_PROGRESS: 409,
  IDEMPOTENCY_KEY_REUSED: 422,
  /**
   * A retry under an Idempotency-Key whose first answer held a secret (createApiKey): secrets are
   * never stored, so the answer is not replayed; `id` names what the first request created.
   */
  IDEMPOTENCY_SECRET_NOT_REPLAYABLE: 409,
  /** A query over one of the limits in src/http/queryLimits.ts; `limit` names which one. */
  QUERY_LIMIT_EXCEEDED: 400,
  /** Introspection (`__schema`, `__type`) asked for where GRAPHQL_INTROSPECTION is off. */
  INTROSPECTION_DISABLED: 400,
  /** A request body over the limit in src/http/bodyLimit.ts. */
  PAYLOAD_TOO_LARGE: 413,
  /** A GET or simple-content-type POST to /graphql without a header that forces a CORS preflight. */
  CSRF_HEADER_REQUIRED: 403,
  /** A CORS preflight from an origin that CORS_ORIGINS does not list. */
  CORS_ORIGIN_NOT_ALLOWED: 403,
  /**
   * /mcp called with an Origin that is not one of this deployment's public origins (PUBLIC_URL,
   * CORS_ORIGINS; loopback in development): DNS-rebinding protection. In the JSON-RPC error's
   * `data.code`.
   */
  ORIGIN_NOT_ALLOWED: 403,
  /** A server listening on loopback only was asked for another host: DNS rebinding (src/http/rebinding.ts). */
  HOST_NOT_ALLOWED: 403,
  /** Over the caller's rate limit; `retryAfterSeconds` says when to retry (also per WebSocket operation). */
  RATE_LIMITED: 429,
  /** One more subscription than WS_MAX_SUBSCRIPTIONS_PER_SOCKET on one WebSocket (the socket stays open). */
  TOO_MANY_SUBSCRIPTIONS: 429,
  /** One more WebSocket than WS_MAX_SOCKETS_PER_CALLER for one caller (the upgrade is refused). */
  TOO_MANY_CONNECTIONS: 429,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/**
 * A domain or request error that is safe to show to the caller: it carries a stable
 * `extensions.code` and the HTTP status Yoga should answer with when it is the only error.
 */
export class AppError extends GraphQLError {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message, {
      extensions: { code, ...details, http: { status: ERROR_STATUS[code] } },
    });
    this.code = code;
    this.name = 'AppError';
  }
}

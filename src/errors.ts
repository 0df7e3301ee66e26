import { GraphQLError } from 'graphql';

interface ErrorEntry {
  /** The HTTP status a response with only this error answers with. */
  status: number;
  /** What the code means, for docs/errors.md (generated from here by `npm run codegen`). */
  description: string;
}

/**
 * Every error code a caller can receive, its HTTP status and its meaning. Callers (people, agents,
 * integrations) branch on these, so a code never changes meaning once shipped. The renderers
 * (AppError for GraphQL, src/http/responses.ts for JSON-RPC and plain JSON) take only these keys,
 * so a code that is not here does not compile; docs/errors.md is generated from this table.
 */
export const ERRORS = {
  // Requests, whatever the surface
  BAD_REQUEST: {
    status: 400,
    description:
      'The request is not well-formed: a body that is not JSON, no `query`, malformed parameters, a bad Idempotency-Key, a WebSocket without the graphql-transport-ws subprotocol.',
  },
  VALIDATION_FAILED: {
    status: 400,
    description:
      'An argument or variable value is invalid (wrong type, out of range, unknown enum value, missing required field); `issues` name the fields.',
  },
  GRAPHQL_PARSE_FAILED: {
    status: 400,
    description:
      'The GraphQL document does not parse. 200 to clients that accept only `application/json` (GraphQL over HTTP, legacy).',
  },
  GRAPHQL_VALIDATION_FAILED: {
    status: 400,
    description:
      'The GraphQL document does not validate against the schema (unknown field, argument or type). 200 to clients that accept only `application/json`.',
  },
  OPERATION_RESOLUTION_FAILURE: {
    status: 400,
    description:
      'The operation to run cannot be determined (`operationName` not in the document, or several operations and none named). 200 to clients that accept only `application/json`.',
  },
  NOT_FOUND: { status: 404, description: 'No route for this path.' },
  METHOD_NOT_ALLOWED: {
    status: 405,
    description:
      'The route does not answer this HTTP method (or a mutation was sent with GET); the `Allow` header names the methods it does.',
  },
  NOT_ACCEPTABLE: {
    status: 406,
    description: 'The Accept header admits none of the media types the route answers with.',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    description: 'The request body has a content type the route does not read (send `application/json`).',
  },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    description:
      'The request body is over the limit (src/http/bodyLimit.ts); `limitBytes` says how much is allowed.',
  },
  NOT_IMPLEMENTED: {
    status: 501,
    description:
      'This runtime does not serve the feature (e.g. subscriptions or metrics where no hub records them).',
  },
  INTERNAL: {
    status: 500,
    description:
      'An unexpected error; the response carries the request id to quote, and the log has the details.',
  },
  CONFIG_INVALID: {
    status: 503,
    description:
      "The deployment's configuration is invalid; `variables` names the variables to fix. Every route answers this until it is fixed.",
  },
  // Authentication, authorisation and request policy
  UNAUTHENTICATED: {
    status: 401,
    description: 'No credential, or one that is invalid, expired or revoked.',
  },
  FORBIDDEN: { status: 403, description: "The caller's roles do not allow this." },
  CSRF_HEADER_REQUIRED: {
    status: 403,
    description:
      'A GET or simple-content-type POST to /graphql without a header that forces a CORS preflight (Authorization, X-API-Key or X-GraphQL-CSRF).',
  },
  CORS_ORIGIN_NOT_ALLOWED: {
    status: 403,
    description: 'A CORS preflight from an origin that CORS_ORIGINS does not list.',
  },
  ORIGIN_NOT_ALLOWED: {
    status: 403,
    description:
      "/mcp called with an Origin that is not one of this deployment's public origins (PUBLIC_URL, CORS_ORIGINS; loopback in development): DNS-rebinding protection.",
  },
  CONFIRMATION_REQUIRED: {
    status: 428,
    description:
      'An MCP tool that cannot be undone (emergency_override, transition_change roll_back, the delete action of manage_workflow, execute_workflow of a workflow that writes elsewhere) was called without `confirm: true`, by a client that cannot ask its user itself. Ask the person you act for, then call again with `confirm: true`.',
  },
  CONFIRMATION_DECLINED: {
    status: 409,
    description:
      'The user declined (or cancelled) the confirmation an irreversible MCP tool asked for; nothing was done.',
  },
  HOST_NOT_ALLOWED: {
    status: 403,
    description:
      'A server listening on loopback only was asked for another host: DNS rebinding (src/http/rebinding.ts).',
  },
  INTROSPECTION_DISABLED: {
    status: 403,
    description:
      'Introspection (`__schema`, `__type`) or /schema.graphql asked for where GRAPHQL_INTROSPECTION is off. A GraphQL validation error: 200 to clients that accept only `application/json`.',
  },
  QUERY_LIMIT_EXCEEDED: {
    status: 400,
    description:
      'A query over one of the limits (depth, aliases, directives, tokens, cost; src/http/plugins/use-query-limits.ts); `limit` names which one. A GraphQL validation error: 200 to clients that accept only `application/json`.',
  },
  RATE_LIMITED: {
    status: 429,
    description:
      "Over the caller's rate limit; `retryAfterSeconds` (and Retry-After) say when to retry. Also per WebSocket operation.",
  },
  RESULT_TOO_LARGE: {
    status: 413,
    description:
      'An MCP tool result over the 20k-token bound (src/mcp/bounds.ts) that could not be shortened to fit: a cursor page is never cut, so ask again with `first` at most `suggestedFirst`.',
  },
  TOO_MANY_SUBSCRIPTIONS: {
    status: 429,
    description:
      'One more subscription than WS_MAX_SUBSCRIPTIONS_PER_SOCKET on one WebSocket (the socket stays open).',
  },
  TOO_MANY_CONNECTIONS: {
    status: 429,
    description: 'One more WebSocket than WS_MAX_SOCKETS_PER_CALLER for one caller (the upgrade is refused).',
  },
  // Idempotency
  IDEMPOTENCY_IN_PROGRESS: {
    status: 409,
    description: 'A request with this Idempotency-Key is still running.',
  },
  IDEMPOTENCY_KEY_REUSED: {
    status: 422,
    description: 'This Idempotency-Key was already used for a different request; use a new key for new work.',
  },
  IDEMPOTENCY_SECRET_NOT_REPLAYABLE: {
    status: 409,
    description:
      'A retry under an Idempotency-Key whose first answer held a secret (createApiKey): secrets are never stored, so the answer is not replayed; `id` names what the first request created.',
  },
  CONCURRENT_MODIFICATION: {
    status: 409,
    description: 'Another request changed the same record at the same time; retry.',
  },
  // Change requests
  CHANGE_NOT_FOUND: { status: 404, description: "No change request with that id in the caller's tenant." },
  CHANGE_INVALID_TRANSITION: {
    status: 409,
    description: 'The change request is not in a state that allows this transition.',
  },
  CHANGE_VERSION_CONFLICT: {
    status: 409,
    description: "`expectedVersion` is not the change request's current version.",
  },
  CHANGE_NOT_EDITABLE: {
    status: 409,
    description: 'The change request can no longer be edited in its state.',
  },
  CHANGE_STANDARD_REQUIRES_TEMPLATE: {
    status: 422,
    description:
      '`type: STANDARD` on a plain create or update: only a change created from an ACTIVE standard-change template (createChangeFromTemplate) is STANDARD.',
  },
  APPROVAL_SELF_APPROVAL: {
    status: 403,
    description: 'The requester of a change (or any of their API keys) cannot approve or reject it.',
  },
  APPROVAL_DUPLICATE_VOTE: {
    status: 409,
    description: 'The person already voted on this change (approved or rejected), through any token or key.',
  },
  APPROVAL_NOT_PENDING: {
    status: 409,
    description:
      'The change is not waiting for approval (already decided, or not yet submitted): no vote is taken.',
  },
  APPROVAL_CHANGE_MANAGER_REQUIRED: {
    status: 409,
    description: "The change's risk needs a change manager's vote before it can be approved.",
  },
  APPROVAL_REQUIRES_PERSON: {
    status: 403,
    description:
      'A CAB vote or emergency override through an API key that was not created with delegatedVoting.',
  },
  RISK_NOT_ASSESSED: { status: 409, description: 'The change has no risk assessment; assess it first.' },
  SCHEDULE_INVALID_WINDOW: {
    status: 400,
    description: 'The window ends before it starts, or is otherwise invalid.',
  },
  SCHEDULE_FREEZE_WINDOW: { status: 409, description: 'The schedule falls into a freeze window.' },
  FREEZE_WINDOW_NOT_FOUND: {
    status: 404,
    description: "No freeze window with that id in the caller's tenant.",
  },
  EMERGENCY_NOT_ALLOWED: {
    status: 409,
    description: 'An emergency override is not allowed for this change.',
  },
  TEMPLATE_NOT_FOUND: {
    status: 404,
    description: "No standard-change template with that id in the caller's tenant.",
  },
  TEMPLATE_VERSION_CONFLICT: {
    status: 409,
    description: "`expectedVersion` is not the template's current version.",
  },
  TEMPLATE_RETIRED: {
    status: 409,
    description: 'The template is RETIRED: it can no longer be edited or used for new changes.',
  },
  API_KEY_NOT_FOUND: { status: 404, description: "No API key with that id in the caller's tenant." },
  // Workflows, webhooks and executions
  'WORKFLOW-001': { status: 404, description: "No workflow with that id in the caller's tenant." },
  'WORKFLOW-002': {
    status: 400,
    description:
      'A definition that is well-formed but refers to something that does not exist (e.g. a change).',
  },
  'WORKFLOW-003': { status: 409, description: "`expectedVersion` is not the workflow's current version." },
  'WORKFLOW-004': { status: 409, description: 'Another ACTIVE workflow of the tenant has that name.' },
  'WORKFLOW-005': {
    status: 409,
    description: 'The workflow is not in a state that allows this (e.g. activating an ACTIVE one).',
  },
  'WORKFLOW-006': { status: 409, description: 'Only an ACTIVE workflow runs.' },
  'WORKFLOW-007': {
    status: 409,
    description: 'A workflow with PENDING or RUNNING executions cannot be deleted.',
  },
  'WORKFLOW-008': {
    status: 404,
    description:
      'Webhook: no workflow with that id takes webhooks (unknown, inactive, or no webhook trigger).',
  },
  'WORKFLOW-009': {
    status: 400,
    description: 'Webhook: signature or timestamp header missing or malformed.',
  },
  'WORKFLOW-010': {
    status: 401,
    description: 'Webhook: the signature does not match the body and timestamp.',
  },
  'WORKFLOW-011': {
    status: 401,
    description: 'Webhook: the timestamp is outside the tolerance (too old, or in the future).',
  },
  'WORKFLOW-012': {
    status: 409,
    description: 'Webhook: this signed delivery was already received (replay).',
  },
  'WORKFLOW-013': {
    status: 503,
    description: "Webhook: the tenant's secret the trigger names is not set (or does not decrypt).",
  },
  WORKFLOW_SECRET_NOT_FOUND: {
    status: 404,
    description:
      "No workflow secret of that name in the caller's tenant (other tenants are never looked at).",
  },
  METRICS_NOT_CONFIGURED: {
    status: 503,
    description:
      "The deployment has no METRICS_TOKEN, so the service-wide `/metrics` answers no one outside development: set it, and send it as the scraper's bearer token.",
  },
  SECRETS_NOT_CONFIGURED: {
    status: 503,
    description: 'The deployment has no SECRETS_KEY, so workflow secrets can be neither saved nor opened.',
  },
  DEPLOYMENT_INTEGRATION_NOT_FOUND: {
    status: 404,
    description:
      "No deployment integration with that id in the caller's tenant; at /hooks/deployments also a disabled one (unknown and disabled look alike).",
  },
  DEPLOYMENT_INTEGRATION_DISABLED: {
    status: 409,
    description: 'The deployment integration was disabled: it can be neither edited nor rotated.',
  },
  DEPLOYMENT_SIGNATURE_MISSING: {
    status: 400,
    description:
      'Deployment hook: the signature (X-Hub-Signature-256, or X-ChangeFlow-Timestamp and X-ChangeFlow-Signature) is missing or malformed.',
  },
  DEPLOYMENT_SIGNATURE_INVALID: {
    status: 401,
    description: "Deployment hook: the signature does not match the body and the integration's secret.",
  },
  DEPLOYMENT_TIMESTAMP_STALE: {
    status: 401,
    description:
      'Deployment hook (generic): the signed timestamp is more than 5 minutes from the server clock.',
  },
  DEPLOYMENT_REPLAYED: {
    status: 409,
    description:
      'Deployment hook: this delivery (X-GitHub-Delivery, or the signed timestamp and body) was already received; nothing was done.',
  },
  DEPLOYMENT_PAYLOAD_INVALID: {
    status: 400,
    description:
      'Deployment hook: the body is not JSON, or not the shape its event or docs/deployments.md describes; `issues` name the fields.',
  },
  DEPLOYMENT_SECRET_UNAVAILABLE: {
    status: 503,
    description:
      "Deployment hook: the integration's secret cannot be opened (no SECRETS_KEY, or a key no longer configured).",
  },
  DEPLOYMENT_ENVIRONMENT_UNKNOWN: {
    status: 409,
    description: 'Deployment blocked: the integration maps no standard change template to its environment.',
  },
  DEPLOYMENT_FREEZE_WINDOW: {
    status: 409,
    description:
      'Deployment blocked: its window overlaps a freeze window (only an EMERGENCY change may deploy then).',
  },
  DEPLOYMENT_CHANGE_NOT_FOUND: {
    status: 409,
    description:
      "Deployment blocked: the change its payload names does not exist in the integration's tenant.",
  },
  DEPLOYMENT_CHANGE_NOT_APPROVED: {
    status: 409,
    description:
      'Deployment blocked: its change is not APPROVED or SCHEDULED (a draft, waiting for the CAB, rejected, or already over).',
  },
  DEPLOYMENT_TEMPLATE_UNAVAILABLE: {
    status: 409,
    description:
      "Deployment blocked: the environment's standard change template is retired or gone, or refused the change it would raise.",
  },
  DEPLOYMENT_WINDOW_INVALID: {
    status: 409,
    description:
      'Deployment blocked: its window is not a valid future window (end after start, at most 7 days).',
  },
  AUDIT_DIGESTS_NOT_CONFIGURED: {
    status: 503,
    description:
      'Audit digests are off here (AUDIT_DIGESTS_ENABLED), or have no signing key (AUDIT_SIGNING_KEY) or no archive (the R2 bucket `AUDIT_ARCHIVE`; AUDIT_ARCHIVE_DIR on Node).',
  },
  TENANT_EXPORT_NOT_CONFIGURED: {
    status: 503,
    description:
      'Tenant exports have nowhere to go: no archive is bound (the R2 bucket `AUDIT_ARCHIVE`; AUDIT_ARCHIVE_DIR on Node).',
  },
  AUDIT_CHAIN_BROKEN: {
    status: 409,
    description:
      "The tenant's audit chain since its last digest does not verify (`seq` names the first bad event), so no digest was signed: a digest never anchors a broken chain.",
  },
  AUDIT_ARCHIVE_CONFLICT: {
    status: 409,
    description:
      'The archive already holds a different digest at the key a new digest would take (for example after the database was restored to an earlier point): the archive is never overwritten, so the digest stays unarchived until an operator resolves it (docs/operations.md).',
  },
  AUDIT_VERIFICATION_NOT_FOUND: {
    status: 404,
    description:
      "No verification run of the caller's tenant has that cursor (another tenant's, made up, or forgotten after 7 days without a call): start a new verification.",
  },
  USER_NOT_FOUND: {
    status: 404,
    description:
      "No person with that id in the caller's tenant: no user record and no audit event of theirs.",
  },
  USER_ALREADY_ERASED: {
    status: 409,
    description:
      'The person was erased and nothing of theirs is left to redact: a second erasure changes nothing, so it is refused rather than recorded again.',
  },
  LEGAL_HOLD: {
    status: 409,
    description:
      'The tenant is under legal hold (its retention policy): nothing is pruned and no personal data is erased until an admin lifts the hold.',
  },
  'EXECUTION-010': {
    status: 404,
    description:
      "No execution with that id in the caller's tenant. (EXECUTION-001…009 classify step failures.)",
  },
  'EXECUTION-011': { status: 409, description: 'The execution already ended: it cannot be cancelled.' },
  'EXECUTION-012': {
    status: 503,
    description: 'This server has no workflow engine (a Worker deployed without its Workflows binding).',
  },
  EGRESS_DENIED: {
    status: 400,
    description:
      "A workflow HTTP step would call a host the egress policy refuses (loopback, private, metadata, a numeric trick, or not on the tenant's allow-list); the message names the host and the rule. At run time the step fails with the same code.",
  },
  WEBHOOK_ENDPOINT_NOT_FOUND: {
    status: 404,
    description:
      "No webhook endpoint with that id in the caller's tenant (other tenants are never looked at).",
  },
  WEBHOOK_DELIVERY_NOT_FOUND: {
    status: 404,
    description: "No webhook delivery with that id in the caller's tenant.",
  },
} as const satisfies Record<string, ErrorEntry>;

export type ErrorCode = keyof typeof ERRORS;

/** Each code's HTTP status, for callers that need only that. */
export const ERROR_STATUS = Object.fromEntries(
  Object.entries(ERRORS).map(([code, { status }]) => [code, status]),
) as { readonly [C in ErrorCode]: (typeof ERRORS)[C]['status'] };

export const isErrorCode = (code: unknown): code is ErrorCode =>
  typeof code === 'string' && Object.hasOwn(ERRORS, code);

/**
 * A domain or request error that is safe to show to the caller: it carries a stable
 * `extensions.code` and the HTTP status Yoga should answer with when it is the only error.
 */
export class AppError extends GraphQLError {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message, {
      extensions: { code, ...details, http: { status: ERRORS[code].status } },
    });
    this.code = code;
    this.name = 'AppError';
  }
}

/**
 * A GraphQL error with a registered code for a message that has no HTTP status of its own (a
 * WebSocket or SSE event): the same `extensions.code`, without AppError's status.
 */
export function socketError(
  code: ErrorCode,
  message: string,
  details?: Record<string, unknown>,
): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...details } });
}

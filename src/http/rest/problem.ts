import { GraphQLError } from 'graphql';
import { ERRORS, type ErrorCode } from '../../errors';
import { createLogger } from '../../log';
import { isVariableCoercionError } from '../plugins/use-error-status';

/**
 * Errors under /api/v1 as RFC 9457 problem details (`application/problem+json`) carrying our
 * stable `code`: `type` names the code, `title` says what it means (src/errors.ts), `detail` is
 * this occurrence's message, `status` is the code's HTTP status, and the error's own details
 * (`issues`, `retryAfterSeconds`…) are extension members.
 */

export const PROBLEM_TYPE = 'application/problem+json';

const logger = createLogger({ service: 'changeflow' });

/** The URI that identifies a code's problem type (a URN: nothing to dereference, stable). */
export const problemType = (code: ErrorCode) => `urn:changeflow:error:${code}`;

const isCode = (code: unknown): code is ErrorCode => typeof code === 'string' && Object.hasOwn(ERRORS, code);

/** The first sentence of the code's description: its title. */
const titleOf = (code: ErrorCode) =>
  (ERRORS[code].description.split(/\.(\s|$)/)[0] ?? code).replaceAll('`', '');

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  [extension: string]: unknown;
}

export function problem(code: ErrorCode, detail: string, details: Record<string, unknown> = {}): Problem {
  // Extension members never overwrite the standard ones.
  return {
    ...details,
    type: problemType(code),
    title: titleOf(code),
    status: ERRORS[code].status,
    detail,
    code,
  };
}

export function problemResponse(
  code: ErrorCode,
  detail: string,
  details: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(problem(code, detail, details)), {
    status: ERRORS[code].status,
    headers: { 'content-type': `${PROBLEM_TYPE}; charset=utf-8`, ...headers },
  });
}

/**
 * One error as our code and details. Yoga masked the errors of an execution already (anything
 * unexpected is INTERNAL); what else reaches here is SOFA's own refusal of a request (a body that
 * is not JSON: an error with only an HTTP status) or an error thrown before execution (the
 * context: UNAUTHENTICATED), so an unknown error is logged and answered INTERNAL, never shown.
 */
function classify(error: unknown): { code: ErrorCode; detail: string; details: Record<string, unknown> } {
  if (error instanceof GraphQLError || (error && typeof error === 'object' && 'extensions' in error)) {
    const e = error as GraphQLError;
    const { code, http: _http, ...details } = (e.extensions ?? {}) as Record<string, unknown>;
    if (isCode(code)) return { code, detail: e.message, details };
    if (e instanceof GraphQLError && isVariableCoercionError(e)) {
      return { code: 'VALIDATION_FAILED', detail: e.message, details: {} };
    }
    const status = (e.extensions?.http as { status?: number } | undefined)?.status;
    if (status === 400 && !e.originalError) return { code: 'BAD_REQUEST', detail: e.message, details: {} };
  }
  logger.log('error', 'unexpected REST error', { error: String((error as Error)?.stack ?? error) });
  return { code: 'INTERNAL', detail: 'Unexpected error', details: {} };
}

/** The answer to a failed operation: the first error as the problem, every error listed when several. */
export function problemFromErrors(errors: readonly unknown[]): Response {
  const all = errors.map(classify);
  const first = all[0] ?? { code: 'INTERNAL' as const, detail: 'Unexpected error', details: {} };
  const path = (errors[0] as GraphQLError | undefined)?.path;
  const extra: Record<string, unknown> = { ...first.details, ...(path ? { path } : {}) };
  if (all.length > 1) extra.errors = all.map((e) => ({ code: e.code, detail: e.detail }));
  return problemResponse(first.code, first.detail, extra);
}

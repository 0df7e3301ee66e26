/**
 * The bug behind each INTERNAL error GraphQL's maskError answered, for useErrorReporting (which
 * sees the request's context; maskError does not). Keyed by the masked error itself, so nothing
 * outlives the response.
 */
const unexpected = new WeakMap<object, unknown>();

/** Remembers that `masked` (an INTERNAL error) stands for `cause`. */
export function noteUnexpected(masked: object, cause: unknown): void {
  unexpected.set(masked, cause);
}

/** The original error of a masked INTERNAL error, or undefined for any other error. */
export const unexpectedCause = (error: unknown): unknown =>
  typeof error === 'object' && error !== null ? unexpected.get(error) : undefined;

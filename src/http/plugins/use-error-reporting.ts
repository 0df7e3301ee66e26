import type { Plugin } from 'graphql-yoga';
import type { ServerContext } from '../graphqlServer';
import { unexpectedCause } from '../unexpectedErrors';

type Result = { errors?: readonly unknown[] };

/**
 * Hands the bug behind each INTERNAL error of a result to the runtime's error tracker
 * (AppPorts.reportError: Sentry in the Worker when SENTRY_DSN is set). A caller's mistake (any
 * error with its own code) is not a bug and is never reported.
 */
export function reportUnexpectedErrors(result: unknown, serverContext: Partial<ServerContext>): void {
  const { reportError, requestId } = serverContext;
  if (!reportError) return;
  for (const r of (Array.isArray(result) ? result : [result]) as Result[]) {
    for (const e of r.errors ?? []) {
      const cause = unexpectedCause(e);
      if (cause !== undefined) reportError(cause, { requestId: requestId ?? 'unknown' });
    }
  }
}

/** reportUnexpectedErrors for every GraphQL response. */
export const useErrorReporting = (): Plugin<ServerContext> => ({
  onResultProcess({ result, serverContext }) {
    reportUnexpectedErrors(result, serverContext as Partial<ServerContext>);
  },
});

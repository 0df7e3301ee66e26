import type { Plugin } from 'graphql-yoga';
import type { ServerContext } from '../graphqlServer';

type Result = { errors?: readonly { extensions?: { code?: unknown } }[] };

/** Notes the code of every GraphQL error of a result, for the error metrics. */
export function observeErrorCodes(result: unknown, serverContext: Partial<ServerContext>): void {
  const observation = serverContext.observation;
  if (!observation) return;
  for (const r of (Array.isArray(result) ? result : [result]) as Result[]) {
    for (const e of r.errors ?? []) observation.errorCodes.push(String(e.extensions?.code ?? 'UNKNOWN'));
  }
}

/** Notes the code of every GraphQL error a response carries, for the error metrics. */
export const useObservation = (): Plugin<ServerContext> => ({
  onResultProcess({ result, serverContext }) {
    observeErrorCodes(result, serverContext as Partial<ServerContext>);
  },
});

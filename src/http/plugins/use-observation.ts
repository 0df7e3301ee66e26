import type { Plugin } from 'graphql-yoga';
import type { ServerContext } from '../graphqlServer';

type Result = { errors?: readonly { extensions?: { code?: unknown } }[] };

/** Notes the code of every GraphQL error a response carries, for the error metrics. */
export const useObservation = (): Plugin<ServerContext> => ({
  onResultProcess({ result, serverContext }) {
    const observation = (serverContext as Partial<ServerContext>).observation;
    if (!observation) return;
    for (const r of (Array.isArray(result) ? result : [result]) as Result[]) {
      for (const e of r.errors ?? []) observation.errorCodes.push(String(e.extensions?.code ?? 'UNKNOWN'));
    }
  },
});

// Apollo Server 5 on the same schema, through `executeHTTPGraphQLRequest`: what its HTTP
// integrations call (header handling, the document cache, validation, execution, error
// formatting, response serialisation), without a socket. Two configurations: as installed
// (its cache-control plugin computes a policy for every field) and with cache control off
// (ApolloServerPluginCacheControlDisabled), the tuned Apollo a fair comparison needs. Auth, rate
// limits and the request log are the gate's (gate.mjs), the same as every peer.
import { ApolloServer, HeaderMap } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { createGate } from './gate.mjs';

/**
 * The Apollo server of a configuration (also what the HTTP section listens with).
 * @param {import('graphql').GraphQLSchema} schema
 * @param {{ cacheControl: boolean }} options
 */
export async function apolloServer(schema, { cacheControl }) {
  const server = new ApolloServer({
    schema,
    includeStacktraceInErrorResponses: false,
    plugins: cacheControl ? [] : [ApolloServerPluginCacheControlDisabled()],
  });
  await server.start();
  return server;
}

/**
 * The whole body of an Apollo HTTP response as text.
 * @param {import('@apollo/server').HTTPGraphQLResponse} response
 */
export async function apolloBodyText(response) {
  if (response.body.kind === 'complete') return response.body.string;
  let text = '';
  for await (const chunk of response.body.asyncIterator) text += chunk;
  return text;
}

/** @param {{ cacheControl: boolean }} options */
export const apolloVariant =
  ({ cacheControl }) =>
  /**
   * @param {import('../types.ts').VariantOptions} options
   * @returns {Promise<import('../types.ts').Variant>}
   */
  async ({ schema, db, vars, tokens }) => {
    const server = await apolloServer(schema, { cacheControl });
    const gate = createGate(db, vars);
    return {
      name: cacheControl ? 'apollo' : 'apolloNoCacheControl',
      async run(op) {
        const authorization = `Bearer ${tokens[op.token]}`;
        const text = JSON.stringify({ query: op.query, variables: op.variables() });
        const admitted = await gate.enter(authorization);
        // What its express/standalone integrations do: headers into a HeaderMap, the JSON body parsed.
        const headers = new HeaderMap([
          ['content-type', 'application/json'],
          ['content-length', String(Buffer.byteLength(text))],
          ['authorization', authorization],
        ]);
        const response = await server.executeHTTPGraphQLRequest({
          httpGraphQLRequest: { method: 'POST', headers, search: '', body: JSON.parse(text) },
          context: async () => admitted.context,
        });
        const body = await apolloBodyText(response);
        admitted.done(response.status ?? 200);
        return body;
      },
      close: () => server.stop(),
    };
  };

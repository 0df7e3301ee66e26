// Apollo Server 5 on the same schema, through `executeOperation` (its full request pipeline —
// document cache, validation, execution, error formatting — without an HTTP layer). The context
// is built per request like the other peers (peerContext.mjs); the result is JSON.stringify'd.
import { ApolloServer } from '@apollo/server';
import { peerContextFactory } from './peerContext.mjs';

/**
 * @param {import('../types.ts').VariantOptions} options
 * @returns {Promise<import('../types.ts').Variant>}
 */
export async function createApolloVariant({ schema, db, vars, tokens }) {
  const server = new ApolloServer({ schema, includeStacktraceInErrorResponses: false });
  await server.start();
  const contextFor = peerContextFactory(db, vars);
  return {
    name: 'apollo',
    async run(op) {
      const response = await server.executeOperation(
        { query: op.query, variables: op.variables() },
        { contextValue: await contextFor(`Bearer ${tokens[op.token]}`) },
      );
      // The bench's operations have no @defer or @stream: the answer is a single result.
      if (response.body.kind !== 'single') throw new Error(`Apollo answered ${response.body.kind}`);
      return JSON.stringify(response.body.singleResult);
    },
    close: () => server.stop(),
  };
}

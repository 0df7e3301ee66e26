// graphql-yoga as installed, with our schema and resolver context and nothing of our HTTP layer
// (no request-id, CSRF, query-limit, error-status, REST or observation plugins, no body limit,
// no security headers): the framework's own cost, so that ours minus this is our layer's. Auth,
// rate limits and the request log are the gate's (gate.mjs), the same as every peer.
import { createYoga } from 'graphql-yoga';
import { createGate } from './gate.mjs';

/**
 * @param {import('../types.ts').VariantOptions} options
 * @returns {import('../types.ts').Variant}
 */
export function createYogaBareVariant({ schema, db, vars, tokens }) {
  const gate = createGate(db, vars);
  /** @type {import('graphql-yoga').YogaServerInstance<{ admitted: { context: object } }, object>} */
  const yoga = createYoga({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: false,
    logging: false,
    context: ({ admitted }) => admitted.context,
  });
  return {
    name: 'yogaBare',
    async run(op) {
      const authorization = `Bearer ${tokens[op.token]}`;
      const admitted = await gate.enter(authorization);
      const body = JSON.stringify({ query: op.query, variables: op.variables() });
      const res = await yoga.fetch(
        new Request('http://bench.local/graphql', {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(body)),
            authorization,
          },
          body,
        }),
        { admitted },
      );
      const text = await res.text();
      admitted.done(res.status);
      return text;
    },
  };
}

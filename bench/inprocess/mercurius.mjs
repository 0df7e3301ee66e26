// Mercurius 16 on fastify 5 with the same schema, through `app.inject` (fastify's routing, body
// parsing and serialisation over a simulated HTTP request, no socket). Mercurius caches parsed and
// validated documents; its JIT stays off (the default), as graphql-jit cannot run in Workers.
import Fastify from 'fastify';
import mercurius from 'mercurius';
import { peerContextFactory } from './peerContext.mjs';

/**
 * The fastify app with Mercurius at /graphql (also what the HTTP section listens with).
 * @param {Omit<import('../types.ts').VariantOptions, 'tokens'>} options
 */
export async function mercuriusApp({ schema, db, vars }) {
  const app = Fastify({ logger: false });
  const contextFor = peerContextFactory(db, vars);
  await app.register(mercurius, {
    schema,
    graphiql: false,
    context: (request) => contextFor(request.headers.authorization),
  });
  await app.ready();
  return app;
}

/**
 * @param {import('../types.ts').VariantOptions} options
 * @returns {Promise<import('../types.ts').Variant>}
 */
export async function createMercuriusVariant({ schema, db, vars, tokens }) {
  const app = await mercuriusApp({ schema, db, vars });
  return {
    name: 'mercurius',
    async run(op) {
      const res = await app.inject({
        method: 'POST',
        url: '/graphql',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[op.token]}` },
        payload: JSON.stringify({ query: op.query, variables: op.variables() }),
      });
      return res.body;
    },
    close: () => app.close(),
  };
}

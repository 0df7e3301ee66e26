// Mercurius 16 on fastify 5 with the same schema, through `app.inject` (fastify's routing, body
// parsing and serialisation over a simulated HTTP request, no socket). Mercurius caches parsed and
// validated documents. Two configurations: JIT off (its default, and what Workers allow: graphql-jit
// compiles with `new Function`) and JIT on (`jit: 1`, compiled from the second request on). Auth,
// rate limits and the request log are the gate's (gate.mjs), the same as every peer.
import Fastify from 'fastify';
import mercurius from 'mercurius';
import { createGate, GateRefusal } from './gate.mjs';
import { isMutation } from './sqliteFloor.mjs';

/**
 * The fastify app with Mercurius at /graphql (also what the HTTP section listens with).
 * @param {Omit<import('../types.ts').VariantOptions, 'tokens'> & { jit?: boolean }} options
 */
export async function mercuriusApp({ schema, db, vars, jit = false }) {
  const app = Fastify({ logger: false });
  const gate = createGate(db, vars);
  /** @type {WeakMap<object, { context: object, done: (status: number) => void }>} */
  const admitted = new WeakMap();
  app.addHook('onRequest', async (request, reply) => {
    try {
      admitted.set(request, await gate.enter(request.headers.authorization));
    } catch (e) {
      if (!(e instanceof GateRefusal)) throw e;
      await reply.code(e.status).send({ errors: [{ message: e.message }] });
    }
  });
  app.addHook('onResponse', async (request, reply) => {
    admitted.get(request)?.done(reply.statusCode);
  });
  await app.register(mercurius, {
    schema,
    graphiql: false,
    ...(jit ? { jit: 1 } : {}),
    context: (request) => {
      const a = admitted.get(request);
      if (!a) throw new Error('request not admitted by the gate');
      return a.context;
    },
  });
  await app.ready();
  return app;
}

/** @param {{ jit: boolean }} options */
export const mercuriusVariant =
  ({ jit }) =>
  /**
   * @param {import('../types.ts').VariantOptions} options
   * @returns {Promise<import('../types.ts').Variant>}
   */
  async ({ schema, db, vars, tokens }) => {
    const app = await mercuriusApp({ schema, db, vars, jit });
    return {
      name: jit ? 'mercuriusJit' : 'mercurius',
      // graphql-jit 0.8.9 refuses the create's variables once compiled ("Field value.type of
      // required type … was not provided": it does not apply input field defaults), so with JIT
      // Mercurius answers the create with an error; it is compared on the reads only.
      ...(jit ? { skips: isMutation } : {}),
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
  };

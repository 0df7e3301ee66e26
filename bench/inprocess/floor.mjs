// The floor: graphql-js `execute` on the same built schema with the same resolver context, and
// nothing else. The document is parsed and validated once per query text (every server caches
// that), the principal is given (no token to verify), and the result is JSON.stringify'd so that
// every variant ends with the response body.
import { randomUUID } from 'node:crypto';
import { execute, parse, validate } from 'graphql';
import { createRequestContext } from '../../src/usecases/context.ts';
import { READ_TENANT, WRITE_TENANT } from '../fixture/seed.mjs';

/**
 * What verifyJwt makes of the bench tokens (see fixture/auth.mjs).
 * @type {Record<import('../types.ts').BenchTokenName, import('../../src/domain/principal.ts').Principal>}
 */
const PRINCIPALS = {
  reader: {
    id: 'bench-reader',
    tenantId: READ_TENANT,
    roles: ['viewer'],
    kind: 'user',
    name: null,
    email: null,
  },
  writer: {
    id: 'bench-writer',
    tenantId: WRITE_TENANT,
    roles: ['requester'],
    kind: 'user',
    name: null,
    email: null,
  },
};

/**
 * @param {import('../types.ts').VariantOptions} options
 * @returns {import('../types.ts').Variant}
 */
export function createFloorVariant({ schema, db }) {
  /** @type {Map<string, import('graphql').DocumentNode>} */
  const documents = new Map();
  const documentFor = (/** @type {string} */ query) => {
    let document = documents.get(query);
    if (!document) {
      document = parse(query);
      const errors = validate(schema, document);
      if (errors.length > 0) throw errors[0];
      documents.set(query, document);
    }
    return document;
  };
  return {
    name: 'floor',
    async run(op) {
      const result = await execute({
        schema,
        document: documentFor(op.query),
        variableValues: op.variables(),
        contextValue: createRequestContext({ db, requestId: randomUUID(), principal: PRINCIPALS[op.token] }),
      });
      return JSON.stringify(result);
    },
  };
}

// The four in-process servers of section 1, by name: each factory takes the built schema, a
// D1Database, the configuration variables and the bench tokens, and returns `{ run(op) }`
// (resolving to the response body as text) with an optional `close()`.
import { createApolloVariant } from './apollo.mjs';
import { createFloorVariant } from './floor.mjs';
import { createMercuriusVariant } from './mercurius.mjs';
import { createYogaVariant } from './yoga.mjs';

export const VARIANTS = {
  yoga: createYogaVariant,
  floor: createFloorVariant,
  apollo: createApolloVariant,
  mercurius: createMercuriusVariant,
};

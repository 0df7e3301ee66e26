import type { CodegenConfig } from '@graphql-codegen/cli';
import type { TypeScriptDocumentsPluginConfig } from '@graphql-codegen/typescript-operations';

/**
 * `npm run codegen` writes the generated artefacts from the built Pothos schema;
 * test/node/codegenDrift.test.mjs fails when a committed one no longer matches this config's output
 * (and test/schemaDrift.test.ts checks the SDL inside workerd):
 * - `schema.graphql`, printed by src/schema/sdl.ts (the printer GET /schema.graphql serves);
 * - `operations.generated.ts`, a TypedDocumentNode (with result and variables types) for every
 *   operation our own clients send: the test helpers, the bench, the load test and the tour keep
 *   theirs in .graphql files beside them. A schema change that breaks one fails codegen, and one
 *   that changes a result shape fails the typecheck of the client that reads it.
 * Further steps (docs tables, the MCP snapshot) follow in package.json's `codegen` script.
 */

/** The .graphql files holding our clients' operations. */
export const OPERATION_DOCUMENTS = [
  'test/helpers/*.graphql',
  'bench/*.graphql',
  'bench/fixture/*.graphql',
  'scripts/*.graphql',
];

export const OPERATIONS_FILE = 'operations.generated.ts';

/** The plugins, in order, that write OPERATIONS_FILE, and their configuration. */
export const OPERATIONS_PLUGINS = ['typescript-operations', 'typed-document-node'] as const;
export const OPERATIONS_CONFIG: TypeScriptDocumentsPluginConfig = {
  // Erasable TypeScript only (no enums, type-only imports), so Node strips it and runs the file.
  enumType: 'string-literal',
  useTypeImports: true,
  scalars: { DateTime: 'string', JSON: 'unknown' },
  strictScalars: true,
};

const config: CodegenConfig = {
  schema: './src/schema/index.ts',
  documents: OPERATION_DOCUMENTS,
  generates: {
    'schema.graphql': { documents: [], plugins: ['./scripts/codegen/sdl.ts'] },
    [OPERATIONS_FILE]: { plugins: [...OPERATIONS_PLUGINS], config: OPERATIONS_CONFIG },
  },
};

export default config;

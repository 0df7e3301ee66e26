import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * `npm run codegen` writes the generated artefacts from the built Pothos schema:
 * `schema.graphql` (the SDL, sorted so that diffs are stable). test/schemaDrift.test.ts fails
 * when a committed artefact no longer matches the code.
 */
const config: CodegenConfig = {
  schema: './src/schema/index.ts',
  generates: {
    'schema.graphql': { plugins: ['schema-ast'] },
  },
};

export default config;

import { type GraphQLSchema, lexicographicSortSchema, printSchema } from 'graphql';

/** The SDL exactly as `npm run codegen` writes schema.graphql (sorted, so diffs stay stable). */
export const printSDL = (schema: GraphQLSchema): string => printSchema(lexicographicSortSchema(schema));

import { type SofaPluginConfig, useSofa } from '@graphql-yoga/plugin-sofa';
import type { GraphQLSchema } from 'graphql';
import { problemFromErrors } from './problem';
import { REST_BASE } from './restRoutes';
import { restRouteTable, sofaRoutes } from './routeTable';

/** The SOFA options shared by the served routes and the OpenAPI document: one table, one shape. */
export function sofaOptions(schema: GraphQLSchema) {
  return {
    basePath: REST_BASE,
    routes: sofaRoutes(restRouteTable(schema)),
    // Nested objects that are models of their own (a change's workflow) come as `{ id }` only.
    depthLimit: 1,
    // A WHATWG Response, which is what fets' own type describes (its typings narrow the headers).
    errorHandler: ((errors: readonly unknown[]) =>
      problemFromErrors(errors)) as unknown as SofaPluginConfig['errorHandler'],
  };
}

/**
 * REST under /api/v1, generated from the schema by SOFA inside Yoga: a route's operation runs
 * through Yoga's context (authentication, principal, source) and execute (error masking, tracing,
 * observation), like /graphql. The document SOFA serves itself is off: /openapi.json is ours
 * (openapi.ts), in OpenAPI 3.1.
 */
export const useRest = (schema: GraphQLSchema) =>
  useSofa({
    ...sofaOptions(schema),
    openAPI: { endpoint: false },
    swaggerUI: { endpoint: false },
  });

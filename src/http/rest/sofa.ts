import { type SofaPluginConfig, useSofa } from '@graphql-yoga/plugin-sofa';
import type { GraphQLSchema } from 'graphql';
import { createSofa } from 'sofa-api';
import { problemFromErrors } from './problem';
import { REST_BASE } from './restRoutes';
import { restRouteTable, sofaRoutes } from './routeTable';

/**
 * Types an answer names by `{ id }` only where they are nested, to be read at their own route:
 * SOFA's (a type with a list and a by-id query) and these, whose full selection inside a list
 * (an execution's steps, a workflow's versions) would cost more than the query limits allow.
 */
const LINKED_TYPES = ['Workflow', 'Execution'];

/** The SOFA options shared by the served routes and the OpenAPI document: one table, one shape. */
export function sofaOptions(schema: GraphQLSchema) {
  const basePath = REST_BASE;
  return {
    basePath,
    routes: sofaRoutes(restRouteTable(schema)),
    models: [...new Set([...createSofa({ basePath, schema }).models, ...LINKED_TYPES])],
    // The schema's custom scalars as JSON Schema (SOFA would describe them as objects).
    customScalars: {
      DateTime: { type: 'string', format: 'date-time' },
      JSON: { description: 'Any JSON value.' },
    },
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
    // `models` is SOFA's own option (createSofa spreads the config over what it derived).
    ...(sofaOptions(schema) as SofaPluginConfig),
    openAPI: { endpoint: false },
    swaggerUI: { endpoint: false },
  });

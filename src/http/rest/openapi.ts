import type { GraphQLSchema } from 'graphql';
import { useSofa } from 'sofa-api';
import { ERRORS } from '../../errors';
import { REST_PAGE_SIZE, routeTableOf } from './handler';
import { ORCHESTRATOR_SCHEMAS, orchestratorPaths } from './orchestratorOpenApi';
import { problem } from './problem';
import { REST_BASE } from './restRoutes';
import { sofaOptions } from './sofa';

/**
 * The OpenAPI 3.1 document of /api/v1, generated from the schema: SOFA's document of the same
 * routes (sofa.ts) made 3.1 (nullable as a type union), with our operation ids (the root field),
 * descriptions, security schemes, problem+json errors and examples; and the workflow orchestrator's
 * routes in its own shapes (orchestratorOpenApi.ts). Committed as openapi.json by
 * `npm run codegen` and served at /openapi.json.
 */

type Json = Record<string, unknown>;

/** OpenAPI 3.0's `nullable: true` as 3.1's JSON Schema type union, everywhere in a schema. */
function to31(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(to31);
  if (!node || typeof node !== 'object') return node;
  const { nullable, ...rest } = node as Json;
  const out: Json = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, to31(v)]));
  if (nullable === true) {
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    else if (out.$ref) return { anyOf: [{ $ref: out.$ref }, { type: 'null' }] };
  }
  return out;
}

const PROBLEM_SCHEMA = {
  type: 'object',
  description: 'RFC 9457 problem details; `code` is the stable error code (docs/errors.md).',
  required: ['type', 'title', 'status', 'detail', 'code'],
  properties: {
    type: { type: 'string', format: 'uri-reference', examples: ['urn:changeflow:error:CHANGE_NOT_FOUND'] },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string', enum: Object.keys(ERRORS) },
  },
  additionalProperties: true,
};

const ERROR_RESPONSES: [string, keyof typeof ERRORS, string][] = [
  ['400', 'VALIDATION_FAILED', 'Variable "$input" got invalid value; input.title is required'],
  ['401', 'UNAUTHENTICATED', 'Authentication required: send "Authorization: Bearer <token>"'],
  ['403', 'FORBIDDEN', 'Your roles (viewer) may not use createChangeRequest'],
  ['404', 'NOT_FOUND', 'No REST route for /api/v1/nope'],
  ['409', 'CHANGE_VERSION_CONFLICT', 'The change is at version 3, not 2'],
  ['429', 'RATE_LIMITED', 'Rate limit exceeded (120 requests per minute); retry after 20 s'],
];

/** Request examples for the routes integrators start with. */
const EXAMPLES: Record<string, Json> = {
  createChangeRequest: {
    input: {
      title: 'Upgrade the payments database',
      description: 'Minor version upgrade of Postgres on the payments cluster.',
      type: 'NORMAL',
      impact: 'MEDIUM',
      urgency: 'MEDIUM',
      affectedServices: ['payments-db'],
      implementationPlan: 'Fail over, upgrade the replica, fail back.',
      backoutPlan: 'Fail back to the old primary.',
    },
  },
  approveChange: { comment: 'Backout plan tested in staging' },
  rejectChange: { reason: 'No backout plan for the schema migration' },
  scheduleChange: { plannedStart: '2030-01-15T22:00:00Z', plannedEnd: '2030-01-15T23:00:00Z' },
};

type Body = { content: { 'application/json': Json } };

/** SOFA's body schema lists the path parameters too (as required): they are in the path. */
function withoutPathParams(body: Body | undefined, path: string): Body | undefined {
  const json = body?.content['application/json'];
  const schema = json?.schema as { properties?: Json; required?: string[] } | undefined;
  if (!body || !json || !schema?.properties) return body;
  const params = new Set([...path.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1] as string));
  const properties = Object.fromEntries(Object.entries(schema.properties).filter(([k]) => !params.has(k)));
  const required = (schema.required ?? []).filter((k) => !params.has(k));
  return {
    ...body,
    content: { 'application/json': { ...json, schema: { ...schema, properties, required } } },
  };
}

export function buildOpenApi(schema: GraphQLSchema): Json {
  const router = useSofa({ ...sofaOptions(schema), schema } as Parameters<typeof useSofa>[0]) as unknown as {
    openAPIDocument: Json;
  };
  const sofaDoc = router.openAPIDocument as { paths: Record<string, Record<string, Json>>; components: Json };
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of routeTableOf(schema)) {
    const path = route.path.replace(/:([A-Za-z]+)/g, '{$1}');
    const operation = sofaDoc.paths[path]?.[route.method.toLowerCase()];
    if (!operation) throw new Error(`SOFA generated no ${route.method} ${path}`);
    const withBody = ['POST', 'PUT', 'PATCH'].includes(route.method);
    // SOFA lists a write's arguments both in the body and in the query string: the body it is.
    const parameters = ((operation.parameters ?? []) as Json[])
      .filter((p) => !withBody || p.in === 'path')
      .map((p) => {
        if (p.in === 'query' && p.name === 'first' && route.kind === 'query') {
          return { ...p, schema: { ...(p.schema as Json), default: REST_PAGE_SIZE } };
        }
        // An input object in the query string is read as `filter[status]=DRAFT` (qs).
        if (p.in === 'query' && (p.schema as Json).$ref) return { ...p, style: 'deepObject', explode: true };
        return p;
      });
    const example = EXAMPLES[route.name];
    const requestBody = withoutPathParams(
      operation.requestBody as { content: { 'application/json': Json } } | undefined,
      route.path,
    );
    const operations = paths[`${REST_BASE}${path}`] ?? {};
    paths[`${REST_BASE}${path}`] = operations;
    operations[route.method.toLowerCase()] = to31({
      operationId: route.name,
      summary: `${route.kind === 'query' ? 'Query' : 'Mutation'}.${route.name}`,
      description: route.description || `The ${route.name} field of the GraphQL schema.`,
      tags: route.tags,
      ...(parameters.length ? { parameters } : {}),
      ...(requestBody
        ? {
            requestBody: {
              ...requestBody,
              content: {
                'application/json': {
                  ...requestBody.content['application/json'],
                  ...(example ? { example } : {}),
                },
              },
            },
          }
        : {}),
      responses: {
        ...Object.fromEntries(
          Object.entries(operation.responses as Record<string, Json>).map(([status, r]) => [
            status,
            { ...r, description: r.description || 'The field’s value, as GraphQL answers it.' },
          ]),
        ),
        ...Object.fromEntries(
          ERROR_RESPONSES.map(([status]) => [status, { $ref: `#/components/responses/E${status}` }]),
        ),
      },
    }) as Json;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'ChangeFlow REST API',
      version: '1',
      description:
        "REST generated from the GraphQL schema (every root field a route under /api/v1; the same authentication, roles, limits, idempotency and audit as /graphql). Errors under /api/v1 are RFC 9457 problem+json carrying a stable `code`. The workflow orchestrator's routes (tag `orchestrator`) keep its documented shapes and codes.",
    },
    servers: [{ url: '/' }],
    security: [{ bearerAuth: [] }, { apiKey: [] }],
    tags: [
      ...[...new Set(routeTableOf(schema).flatMap((r) => r.tags))].map((name) => ({ name })),
      {
        name: 'orchestrator',
        description:
          'The workflow orchestrator\'s routes, served as it documented them so that its clients work unchanged: its shapes and error codes (`{"error": {code, message, details}}`), not problem+json.',
      },
    ],
    paths: { ...paths, ...orchestratorPaths() },
    components: {
      schemas: {
        ...(to31((sofaDoc.components as Json).schemas) as Json),
        // The schema's custom scalars, which SOFA names without describing.
        DateTime: { type: 'string', format: 'date-time', description: 'An ISO 8601 instant (UTC).' },
        JSON: { description: 'Any JSON value.' },
        Problem: PROBLEM_SCHEMA,
        ...ORCHESTRATOR_SCHEMAS,
      },
      responses: Object.fromEntries(
        ERROR_RESPONSES.map(([status, code, detail]) => [
          `E${status}`,
          {
            description: ERRORS[code].description,
            content: {
              'application/problem+json': {
                schema: { $ref: '#/components/schemas/Problem' },
                example: problem(code, detail),
              },
            },
          },
        ]),
      ),
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'A JWT or an API key.',
        },
        apiKey: {
          type: 'apiKey',
          in: 'header',
          name: 'X-API-Key',
          description: 'An API key (createApiKey).',
        },
      },
    },
  };
}

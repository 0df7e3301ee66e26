import type { GraphQLSchema } from 'graphql';
import { jsonErrorResponse } from '../responses';
import type { RouteContext } from '../routes';
import { buildOpenApi } from './openapi';

const documents = new WeakMap<GraphQLSchema, string>();

/**
 * /openapi.json: the OpenAPI 3.1 document of /api/v1 (built once per schema). Like the SDL it
 * describes the whole schema, so it is published only where introspection is; elsewhere
 * integrators use the committed openapi.json.
 */
export function openApiRoute(ctx: RouteContext): Response {
  if (!ctx.config.introspection) {
    return jsonErrorResponse('INTROSPECTION_DISABLED', 'The OpenAPI document is not published here');
  }
  const { schema } = ctx.yoga.getEnveloped();
  let document = documents.get(schema);
  if (document === undefined) {
    document = `${JSON.stringify(buildOpenApi(schema), null, 2)}\n`;
    documents.set(schema, document);
  }
  return new Response(document, {
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'public, max-age=300' },
  });
}

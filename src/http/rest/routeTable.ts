import type { GraphQLSchema } from 'graphql';
import { REST_ROUTES, type RouteConfig, type Verb } from './restRoutes';

export type { Verb };

/** One generated REST route: a root field of the schema, where it is served and how. */
export interface RestRoute {
  /** `Query.change`, `Mutation.submitChange`. */
  field: string;
  /** The root field's name: the operation id in the OpenAPI document. */
  name: string;
  kind: 'query' | 'mutation';
  method: Verb;
  /** Relative to /api/v1, with `:param` segments (SOFA's syntax). */
  path: string;
  /** Matches a path relative to /api/v1; its groups are the parameters in order. */
  pattern: RegExp;
  description: string;
  tags: string[];
  /** The field's argument names. */
  args: string[];
}

const kebab = (name: string) => name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

/** `/changes/:id/approve` as a pattern for one path segment per parameter. */
function toPattern(path: string): RegExp {
  const source = path
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '([^/]+)' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}$`);
}

/**
 * Every root query and mutation field as a REST route (subscriptions are not served over REST):
 * the path REST_ROUTES names, else SOFA's default (`GET /<field>` for a query, `POST /<field>` for a
 * mutation, in kebab case). Built from the schema, so a new field gets a route without an edit here.
 */
export function restRouteTable(schema: GraphQLSchema): RestRoute[] {
  const table: RestRoute[] = [];
  for (const [kind, type] of [
    ['query', schema.getQueryType()],
    ['mutation', schema.getMutationType()],
  ] as const) {
    if (!type) continue;
    for (const field of Object.values(type.getFields())) {
      const key = `${type.name}.${field.name}`;
      const config = REST_ROUTES[key];
      const method: Verb = config?.method ?? (kind === 'query' ? 'GET' : 'POST');
      const path = config?.path ?? `/${kebab(field.name)}`;
      table.push({
        field: key,
        name: field.name,
        kind,
        method,
        path,
        pattern: toPattern(path),
        description: field.description ?? '',
        tags: config?.tags ?? [kind === 'query' ? 'queries' : 'mutations'],
        args: field.args.map((a) => a.name),
      });
    }
  }
  return table;
}

/** The table as SOFA's `routes` option: every field's path, method, tags and description. */
export function sofaRoutes(table: readonly RestRoute[]): Record<string, RouteConfig> {
  return Object.fromEntries(
    table.map((r) => [r.field, { method: r.method, path: r.path, tags: r.tags, description: r.description }]),
  );
}

/** The route for a method and a path relative to /api/v1, or why there is none. */
export function matchRest(
  table: readonly RestRoute[],
  method: string,
  path: string,
): { route: RestRoute } | { allow: Verb[] } | null {
  const matching = table.filter((r) => r.pattern.test(path));
  if (!matching.length) return null;
  const route = matching.find((r) => r.method === method);
  return route ? { route } : { allow: matching.map((r) => r.method) };
}

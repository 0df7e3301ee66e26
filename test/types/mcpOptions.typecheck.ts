/**
 * Type-level test, checked by `npm run typecheck` (tsc) and never run: only Query and Mutation
 * fields take the `mcp` option, only Query fields `mcpResource` (src/schema/plugins/mcp.ts).
 * Each `@ts-expect-error` fails the typecheck if the option it marks ever compiles again.
 */
import SchemaBuilder from '@pothos/core';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import McpPlugin from '../../src/schema/plugins/mcp';

const builder = new SchemaBuilder<{ DefaultFieldNullability: false }>({
  plugins: [ScopeAuthPlugin, McpPlugin],
  scopeAuth: { authScopes: () => ({}) },
  defaultFieldNullability: false,
});

const resource = { uriTemplate: 'changeflow://things/{id}', name: 'thing' };

builder.queryType({
  fields: (t) => ({
    thing: t.boolean({ mcp: { name: 'get_thing' }, mcpResource: resource, resolve: () => true }),
  }),
});

builder.mutationType({
  fields: (t) => ({
    touchThing: t.boolean({ mcp: { name: 'touch_thing' }, resolve: () => true }),
    moveThing: t.boolean({
      // @ts-expect-error a resource is a read: never a Mutation field
      mcpResource: resource,
      resolve: () => true,
    }),
  }),
});

builder.subscriptionType({
  fields: (t) => ({
    things: t.boolean({
      // @ts-expect-error a subscription is no MCP tool
      mcp: { name: 'watch_things' },
      subscribe: async function* () {},
      resolve: () => true,
    }),
  }),
});

builder.objectRef<{ id: string }>('Thing').implement({
  fields: (t) => ({
    id: t.exposeID('id', {
      // @ts-expect-error an object field is no MCP tool
      mcp: { name: 'thing_id' },
    }),
    size: t.int({
      // @ts-expect-error an object field is no MCP resource
      mcpResource: resource,
      resolve: () => 1,
    }),
  }),
});

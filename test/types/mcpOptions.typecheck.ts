/**
 * Type-level test, checked by `npm run typecheck` (tsc) and never run: only Query and Mutation
 * fields take the `mcp` option, only Query fields `mcpResource`, and a Mutation's tool sets and
 * justifies its annotations while a Query's sets none, and every tool names its toolset (src/schema/plugins/mcp.ts).
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
    thing: t.boolean({
      mcp: { name: 'get_thing', toolset: 'changes' },
      mcpResource: resource,
      resolve: () => true,
    }),
    // @ts-expect-error every tool names its toolset
    loneThing: t.boolean({ mcp: { name: 'get_lone_thing' }, resolve: () => true }),
    otherThing: t.boolean({
      mcp: {
        name: 'get_other_thing',
        toolset: 'changes',
        // @ts-expect-error a query tool is read-only: its hints are not set by hand
        annotations: { destructiveHint: false, idempotentHint: true, openWorldHint: false, why: 'Reads.' },
      },
      resolve: () => true,
    }),
  }),
});

const hints = { destructiveHint: false, idempotentHint: false, openWorldHint: false, why: 'Adds a thing.' };

builder.mutationType({
  fields: (t) => ({
    touchThing: t.boolean({
      mcp: { name: 'touch_thing', toolset: 'admin', annotations: hints },
      resolve: () => true,
    }),
    // @ts-expect-error a mutation tool sets its annotations (MCP's defaults would misdescribe it)
    pokeThing: t.boolean({ mcp: { name: 'poke_thing', toolset: 'admin' }, resolve: () => true }),
    nudgeThing: t.boolean({
      mcp: {
        name: 'nudge_thing',
        toolset: 'admin',
        // @ts-expect-error and justifies them
        annotations: { destructiveHint: false, idempotentHint: false, openWorldHint: false },
      },
      resolve: () => true,
    }),
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

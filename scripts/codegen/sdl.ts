// A graphql-codegen plugin that writes schema.graphql with the one SDL printer the service uses
// (src/schema/sdl.ts: GET /schema.graphql and test/schemaDrift.test.ts print with it too).
import type { PluginFunction } from '@graphql-codegen/plugin-helpers';
import { printSDL } from '../../src/schema/sdl';

export const plugin: PluginFunction = (schema) => printSDL(schema);

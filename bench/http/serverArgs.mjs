// The flags of the bench HTTP servers: the SQLite file (already migrated and seeded by
// bench/sections/http.mjs), the loopback port, and each server's own switches.
import { parseArgs } from 'node:util';

export function serverArgs() {
  const { values } = parseArgs({
    options: {
      db: { type: 'string' },
      port: { type: 'string' },
      // mercuriusServer.mjs: graphql-jit on.
      jit: { type: 'boolean', default: false },
      // apolloServer.mjs: ApolloServerPluginCacheControlDisabled.
      'no-cache-control': { type: 'boolean', default: false },
      // fixedBodyServer.mjs: a JSON file of request body → response body.
      bodies: { type: 'string' },
    },
  });
  if (!values.port || (!values.db && !values.bodies)) throw new Error('usage: --db <file.sqlite> --port <n>');
  return {
    db: values.db ?? '',
    port: Number(values.port),
    jit: values.jit === true,
    cacheControl: values['no-cache-control'] !== true,
    bodies: values.bodies ?? null,
  };
}

/**
 * The Node runtime's public API, for tools that run ChangeFlow in process (benchmarks, tests):
 *
 *   const app = openNodeApp({ dbPath: ':memory:', env: { JWT_SECRET } }); // migrated SQLite
 *   const response = await app.fetch(new Request('http://localhost/graphql', { … }));
 *   const server = await startNodeServer(app, { port: 0, host: '127.0.0.1' }); // optional
 *   await server.close(); // or app.close() when no server was started
 */

export {
  createNodeApp,
  type NodeApp,
  type NodeAppOptions,
  type OpenNodeAppOptions,
  openNodeApp,
} from './runtime';
export { type NodeServer, startNodeServer } from './server';
export { applyMigrations, openSqliteD1, type SqliteD1, type SqliteD1Options } from './sqlite';

// Apollo Server 5 with its standalone Node http integration, listening on loopback: the same
// schema, database and per-request context (JWT verified, our context factory) as the others.
//   node --import tsx bench/http/apolloServer.mjs --db <file> --port <n>
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { schema } from '../../src/schema/index.ts';
import { BENCH_VARS } from '../fixture/auth.mjs';
import { openBenchDatabase } from '../inprocess/database.mjs';
import { peerContextFactory } from '../inprocess/peerContext.mjs';
import { serverArgs } from './serverArgs.mjs';

const { db, port } = serverArgs();
const contextFor = peerContextFactory(openBenchDatabase(db), BENCH_VARS);
const server = new ApolloServer({ schema, includeStacktraceInErrorResponses: false });
await startStandaloneServer(server, {
  listen: { port, host: '127.0.0.1' },
  context: ({ req }) => contextFor(req.headers.authorization),
});
process.once('SIGTERM', () => server.stop().then(() => process.exit(0)));

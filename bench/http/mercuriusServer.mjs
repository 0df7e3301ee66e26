// Mercurius on fastify, listening on loopback: the same schema, database and gate (request id,
// rate limiter, JWT, our context, log line) as in the in-process section. --jit: graphql-jit on.
//   node --import tsx bench/http/mercuriusServer.mjs --db <file> --port <n> [--jit]
import { schema } from '../../src/schema/index.ts';
import { BENCH_VARS } from '../fixture/auth.mjs';
import { openBenchDatabase } from '../inprocess/database.mjs';
import { mercuriusApp } from '../inprocess/mercurius.mjs';
import { serverArgs } from './serverArgs.mjs';

const { db, port, jit } = serverArgs();
const app = await mercuriusApp({ schema, db: openBenchDatabase(db), vars: BENCH_VARS, jit });
await app.listen({ port, host: '127.0.0.1' });
process.once('SIGTERM', () => app.close().then(() => process.exit(0)));

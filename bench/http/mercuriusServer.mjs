// Mercurius on fastify, listening on loopback: the same schema, database and per-request context
// (JWT verified, our context factory) as in the in-process section.
//   node --import tsx bench/http/mercuriusServer.mjs --db <file> --port <n>
import { schema } from '../../src/schema/index.ts';
import { BENCH_VARS } from '../fixture/auth.mjs';
import { openBenchDatabase } from '../inprocess/database.mjs';
import { mercuriusApp } from '../inprocess/mercurius.mjs';
import { serverArgs } from './serverArgs.mjs';

const { db, port } = serverArgs();
const app = await mercuriusApp({ schema, db: openBenchDatabase(db), vars: BENCH_VARS });
await app.listen({ port, host: '127.0.0.1' });
process.once('SIGTERM', () => app.close().then(() => process.exit(0)));

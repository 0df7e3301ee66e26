// Apollo Server 5 on node:http, listening on loopback: what its standalone integration does (read
// the body, parse JSON, executeHTTPGraphQLRequest, write the answer), with the gate every peer
// gets (gate.mjs: request id, rate limiter, JWT, our context, log line). --no-cache-control turns
// its cache-control plugin off.
//   node --import tsx bench/http/apolloServer.mjs --db <file> --port <n> [--no-cache-control]
import { createServer } from 'node:http';
import { HeaderMap } from '@apollo/server';
import { schema } from '../../src/schema/index.ts';
import { BENCH_VARS } from '../fixture/auth.mjs';
import { apolloBodyText, apolloServer } from '../inprocess/apollo.mjs';
import { openBenchDatabase } from '../inprocess/database.mjs';
import { createGate, GateRefusal } from '../inprocess/gate.mjs';
import { serverArgs } from './serverArgs.mjs';

const { db, port, cacheControl } = serverArgs();
const gate = createGate(openBenchDatabase(db), BENCH_VARS);
const server = await apolloServer(schema, { cacheControl });

const http = createServer(async (req, res) => {
  /** @type {Buffer[]} */
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  let admitted;
  try {
    admitted = await gate.enter(req.headers.authorization);
  } catch (e) {
    const status = e instanceof GateRefusal ? e.status : 401;
    res
      .writeHead(status, { 'content-type': 'application/json' })
      .end(JSON.stringify({ errors: [{ message: String(e) }] }));
    return;
  }
  const headers = new HeaderMap();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  const response = await server.executeHTTPGraphQLRequest({
    httpGraphQLRequest: {
      method: req.method ?? 'POST',
      headers,
      search: new URL(req.url ?? '/', 'http://localhost').search,
      body: text ? JSON.parse(text) : undefined,
    },
    context: async () => admitted.context,
  });
  const body = await apolloBodyText(response);
  const status = response.status ?? 200;
  res.writeHead(status, Object.fromEntries(response.headers));
  res.end(body);
  admitted.done(status);
});
http.listen(port, '127.0.0.1');
process.once('SIGTERM', () => http.close(() => server.stop().then(() => process.exit(0))));

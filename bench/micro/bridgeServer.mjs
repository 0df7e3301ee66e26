// The node:http bridge alone (src/runtime/node/http.ts and server.ts of the tree given), serving
// an app that reads the request body and answers a fixed JSON body of the size of the single
// read: what the bridge costs a request, apart from the app. Run by bench/micro/nodeAB.mjs.
//
//   node --import tsx bench/micro/bridgeServer.mjs --root <source tree> --port <n>
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    root: { type: 'string' },
    port: { type: 'string' },
    db: { type: 'string' },
    host: { type: 'string' },
  },
});
if (!values.root || !values.port) throw new Error('usage: --root <tree> --port <n>');
const { startNodeServer } = await import(pathToFileURL(join(values.root, 'src/runtime/node/server.ts')).href);
const body = JSON.stringify({
  data: { change: { id: 'CHG-000001', status: 'APPROVED', title: 'x'.repeat(120) } },
});
const app = {
  fetch: async (/** @type {Request} */ request) => {
    const text = await request.text();
    if (request.method === 'POST' && !text.startsWith('{')) return new Response('bad', { status: 400 });
    return new Response(body, {
      headers: { 'content-type': 'application/graphql-response+json; charset=utf-8', 'x-request-id': 'r' },
    });
  },
  upgrade: (/** @type {unknown} */ _req, /** @type {import('node:net').Socket} */ socket) => socket.destroy(),
  endSubscriptions: async () => {},
  close: async () => {},
};
const server = await startNodeServer(app, { port: Number(values.port), host: '127.0.0.1' });
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));

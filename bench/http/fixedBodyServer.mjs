// The physical floor over loopback HTTP: raw node:http reading the request body and answering a
// fixed response body (the very bytes our server answers for that request, captured once by the
// section). No GraphQL, no database, no auth: what the socket, HTTP parsing and the load
// generator cost at least.
//   node bench/http/fixedBodyServer.mjs --bodies <file.json> --port <n>
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { serverArgs } from './serverArgs.mjs';

const { port, bodies } = serverArgs();
if (!bodies) throw new Error('--bodies <file.json> is required');
/** @type {Map<string, Buffer>} */
const answers = new Map(
  Object.entries(/** @type {Record<string, string>} */ (JSON.parse(readFileSync(bodies, 'utf8')))).map(
    ([request, response]) => [request, Buffer.from(response)],
  ),
);
const http = createServer((req, res) => {
  /** @type {Buffer[]} */
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const answer = answers.get(Buffer.concat(chunks).toString('utf8'));
    if (!answer) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': answer.length,
    });
    res.end(answer);
  });
});
http.listen(port, '127.0.0.1');
process.once('SIGTERM', () => http.close(() => process.exit(0)));

// A request over node:http with the headers exactly as given (fetch sets its own Host), for tests
// that need to send what a browser or an attacker would and read the whole answer.
import { request } from 'node:http';

/** Resolves `{ status, text }` once the answer is complete. */
export function rawRequest({ port, path, method = 'GET', headers = {}, body = '' }) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      let text = '';
      res.on('data', (c) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

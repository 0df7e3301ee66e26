import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { token } from '../helpers/auth';

/**
 * An answer the MCP transport gives without reading the body (415 for a body not declared as
 * JSON) must still take the whole body first: over a real socket an early answer to an upload in
 * flight breaks the connection (test/node/malformedInput.test.mjs saw resets and a 500 on /mcp).
 * In the pool no socket breaks, so this watches the upload itself: a body of known length whose
 * writer only finishes when every byte was read.
 */
describe('/mcp reads the whole body before an early answer', () => {
  it.each([
    ['text/plain', 415],
    ['application/xml', 415],
  ])('a %s body of 40 KB with Content-Length is consumed before the %i', async (contentType, status) => {
    const total = 40_000;
    const { readable, writable } = new FixedLengthStream(total);
    const writer = writable.getWriter();
    const written = (async () => {
      for (let sent = 0; sent < total; sent += 4000) await writer.write(new Uint8Array(4000).fill(120));
      await writer.close();
      return 'all written';
    })();
    const tok = await token({ tenant: 'mcp-drain' });
    const res = await exports.default.fetch('http://cf.test/mcp', {
      method: 'POST',
      headers: {
        'content-type': contentType,
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${tok}`,
      },
      body: readable,
    });
    expect(res.status).toBe(status);
    await res.text();
    const outcome = await Promise.race([written, new Promise((r) => setTimeout(() => r('stalled'), 2000))]);
    expect(outcome).toBe('all written');
  });
});

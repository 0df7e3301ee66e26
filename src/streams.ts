/**
 * Reads a byte stream to its end, or gives up at the first byte over `max`. Past `max` the rest
 * is, by default, never downloaded (the stream is cancelled: what a workflow's HTTP step receives,
 * httpCall.ts). A request body is instead read on and thrown away up to `drainUpTo` bytes
 * (bodyLimit.ts): answering while the client is still sending breaks the connection (see
 * drainBody below).
 */
export async function readUpTo(
  stream: ReadableStream<Uint8Array>,
  max: number,
  options: { drainUpTo?: number } = {},
): Promise<Uint8Array<ArrayBuffer> | null> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      if (options.drainUpTo === undefined) await reader.cancel('over the size limit').catch(() => {});
      else await discard(reader, options.drainUpTo - size);
      return null;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/**
 * The most of an unread request body thrown away before answering, and how long it may take. A
 * bigger or slower one is cancelled: the runtime then closes that connection after the answer.
 */
export const DRAIN_MAX_BYTES = 8 * 1024 * 1024;
export const DRAIN_MAX_MS = 10_000;

/** Reads and throws away the rest of a stream, up to `maxBytes` and `maxMs`; true when it ended. */
async function discard(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  maxBytes: number,
  maxMs: number = DRAIN_MAX_MS,
): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), maxMs);
  });
  let left = maxBytes;
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), timedOut]);
      if (next === 'timeout') break;
      if (next.done) return true;
      left -= next.value.byteLength;
      if (left < 0) break;
    }
    await reader.cancel('not read: too large or too slow').catch(() => {});
    return false;
  } catch {
    // The client went away: nothing is left to drain.
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads and throws away a request body nobody read (an early 401, 413, 415, 429, 400...), so the
 * answer goes out only after the client finished sending. An answer sent while the body is still
 * arriving breaks connections: under `wrangler dev`, the proxy in front of workerd fails its
 * upload ("Can't read from request stream after response has been sent", "Network connection
 * lost") and the client gets a 500/503 "Your worker restarted mid-request" or a reset instead of
 * the answer (test/node/wranglerEarlyAnswer.learning.test.mjs pins it: a third of early answers
 * to cancelled uploads, none once drained); on Node, the socket stops being read, so uploads and
 * the requests after them on that connection reset or stall. A cancelled body counts as used
 * (wrangler's own drain skips it), so bodies are drained wherever the app stops reading early.
 */
export async function drainBody(request: Request): Promise<void> {
  if (request.body === null || request.bodyUsed) return;
  let reader: ReadableStreamDefaultReader<Uint8Array>;
  try {
    reader = request.body.getReader();
  } catch {
    return; // locked: someone is reading it
  }
  await discard(reader, DRAIN_MAX_BYTES);
}

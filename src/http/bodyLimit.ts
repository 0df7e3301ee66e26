import { DRAIN_MAX_BYTES, readUpTo } from '../streams';

/**
 * A cap on request bodies, checked before anything reads them: a declared Content-Length over
 * the cap is refused without reading a byte, one within it passes through untouched (HTTP framing
 * ends the body there); a body without one (chunked) is read up to the cap and refused at the
 * first byte over, and the body read is handed on in a new Request. A refused body is not
 * cancelled but read on and thrown away (up to DRAIN_MAX_BYTES; see drainBody in streams.ts),
 * so that the 413 goes out once the client finished sending.
 */

/** 100 KiB: the biggest legitimate operation (a change with long plans, a document near the token limit) is a few KiB. */
export const MAX_BODY_BYTES = 100 * 1024;

export type LimitedBody = { request: Request } | { tooLarge: true; limitBytes: number };

/** The request with its body read (at most `max` bytes), or tooLarge. */
export async function limitBody(request: Request, max: number = MAX_BODY_BYTES): Promise<LimitedBody> {
  if (request.body === null) return { request };
  const declared = request.headers.get('content-length');
  if (declared !== null && /^\d+$/.test(declared.trim())) {
    if (Number(declared) > max) return { tooLarge: true, limitBytes: max };
    // HTTP framing ends the body at Content-Length: within the cap, it need not be read here.
    return { request };
  }
  const bytes = await readUpTo(request.body, max, { drainUpTo: DRAIN_MAX_BYTES });
  if (bytes === null) return { tooLarge: true, limitBytes: max };
  return {
    request: new Request(request.url, {
      method: request.method,
      headers: request.headers,
      body: bytes,
      signal: request.signal,
    }),
  };
}

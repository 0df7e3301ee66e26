import { describe, expect, inject, it } from 'vitest';
import type { UpstreamCall } from './server';

/**
 * Code running in workerd (the workers pool) reaching the loopback upstream stand-in that
 * test/globalSetup.ts starts in Node, and what workerd's fetch does with each failure, which the
 * execution engine classifies (errorClass.ts). Findings, with the pinned workerd:
 * - Loopback (127.0.0.1 and localhost) is reachable with the pool's default outbound network.
 * - A reset (RST), a close without a response (FIN) and a refused connection all reject with a
 *   plain `Error` (not a TypeError, not a DOMException) whose message is "Network connection lost.".
 *   workerd never retries the request by itself: the upstream sees exactly one call.
 * - An abort without a reason rejects with a DOMException named "AbortError" ("The operation was
 *   aborted", code 20); `AbortSignal.timeout` with a DOMException named "TimeoutError" ("The
 *   operation was aborted due to timeout", code 23). A reason given to `abort(reason)` comes back
 *   as a new plain `Error` (never the same object, subclass and name lost) whose message is the
 *   reason's text: `new Error('x')` gives message "x", a subclass named CancelledError gives
 *   "CancelledError: x", a string "x" gives "x". So the engine should tell cancels and timeouts
 *   apart by its own signals' `aborted` flags, not by the error's identity or name.
 * - Aborting closes the connection: the upstream sees the client go away (its log says aborted).
 */

const base = inject('upstreamUrl');
const key = () => crypto.randomUUID();

async function json(
  path: string,
  init?: RequestInit,
): Promise<{ status: number; body: unknown; res: Response }> {
  const res = await fetch(`${base}${path}`, init);
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : JSON.parse(text), res };
}

async function log(k: string): Promise<UpstreamCall[]> {
  return ((await json(`/log/${k}`)).body as { calls: UpstreamCall[] }).calls;
}

/** Poll the upstream's log until `done` holds (the server sees a client's abort a moment later). */
async function waitForLog(k: string, done: (calls: UpstreamCall[]) => boolean): Promise<UpstreamCall[]> {
  const until = Date.now() + 3000;
  for (;;) {
    const calls = await log(k);
    if (done(calls) || Date.now() > until) return calls;
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the fetch to reject');
}

describe('the upstream stand-in, seen from workerd', () => {
  it('is provided as a loopback URL', () => {
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('answers GET /ok', async () => {
    const { status, body, res } = await json('/ok');
    expect(status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(body).toEqual({
      ok: true,
      method: 'GET',
      body: null,
      headers: { 'content-type': null, authorization: null, 'x-test': null },
    });
  });

  it('answers POST /ok with the parsed body and the selected headers', async () => {
    const { status, body } = await json('/ok', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: 'Bearer t0k',
        'x-test': 'yes',
        'x-other': 'no',
      },
      body: JSON.stringify({ deploy: 'v1.2.3', n: 2 }),
    });
    expect(status).toBe(200);
    expect(body).toEqual({
      ok: true,
      method: 'POST',
      body: { deploy: 'v1.2.3', n: 2 },
      headers: { 'content-type': 'application/json', authorization: 'Bearer t0k', 'x-test': 'yes' },
    });
    // A body that is not JSON reads as null.
    expect((await json('/ok', { method: 'POST', body: 'not json' })).body).toMatchObject({ body: null });
  });

  it('is reachable as localhost too', async () => {
    const res = await fetch(`${base.replace('127.0.0.1', 'localhost')}/ok`);
    expect(res.status).toBe(200);
    await res.body?.cancel();
  });

  it('answers /status/:code, with Retry-After when asked, and no body for 204', async () => {
    expect(await json('/status/503')).toMatchObject({ status: 503, body: { status: 503 } });
    const limited = await json('/status/429?retryAfter=2');
    expect(limited).toMatchObject({ status: 429, body: { status: 429 } });
    expect(limited.res.headers.get('retry-after')).toBe('2');
    expect((await json('/status/500')).res.headers.get('retry-after')).toBeNull();
    expect(await json('/status/204')).toMatchObject({ status: 204, body: null });
    expect(await json('/status/404')).toMatchObject({ status: 404, body: { status: 404 } });
    expect((await json('/status/99')).status).toBe(400);
  });

  it('answers /slow/:ms after that long', async () => {
    const t0 = Date.now();
    expect(await json('/slow/150')).toMatchObject({ status: 200, body: { ok: true, waitedMs: 150 } });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
  });

  it('fails fast on /flaky/:key/:failures/:code, then succeeds, counting and logging the calls', async () => {
    const k = key();
    const path = `/flaky/${k}/2/503?retryAfter=1`;
    const first = await json(path);
    expect(first).toMatchObject({ status: 503, body: { status: 503, calls: 1 } });
    expect(first.res.headers.get('retry-after')).toBe('1');
    expect(await json(path)).toMatchObject({ status: 503, body: { calls: 2 } });
    await new Promise((r) => setTimeout(r, 30));
    expect(await json(path)).toMatchObject({ status: 200, body: { ok: true, calls: 3 } });
    expect(await json(path)).toMatchObject({ status: 200, body: { ok: true, calls: 4 } });
    expect((await json(`/count/${k}`)).body).toEqual({ calls: 4 });
    const calls = await log(k);
    expect(calls.map((c) => [c.method, c.path, c.aborted])).toEqual(
      Array.from({ length: 4 }, () => ['GET', `/flaky/${k}/2/503`, false]),
    );
    // Timestamps in ms let tests check the spacing of retries.
    expect(calls[2]!.at - calls[1]!.at).toBeGreaterThanOrEqual(25);
    expect((await json('/count/never-used-key')).body).toEqual({ calls: 0 });
    expect((await json('/log/never-used-key')).body).toEqual({ calls: [] });
  });

  it('counts /keyed/:key/<path> under the key and behaves as <path>', async () => {
    const k = key();
    expect(await json(`/keyed/${k}/status/500`)).toMatchObject({ status: 500, body: { status: 500 } });
    expect(await json(`/keyed/${k}/status/429?retryAfter=3`, { method: 'POST', body: '{}' })).toMatchObject({
      status: 429,
    });
    expect(await json(`/keyed/${k}/ok`)).toMatchObject({ status: 200, body: { ok: true } });
    expect((await json(`/count/${k}`)).body).toEqual({ calls: 3 });
    expect((await log(k)).map((c) => `${c.method} ${c.path}`)).toEqual([
      `GET /keyed/${k}/status/500`,
      `POST /keyed/${k}/status/429`,
      `GET /keyed/${k}/ok`,
    ]);
  });

  it('answers /big/:bytes with a JSON string of exactly that many bytes', async () => {
    const res = await fetch(`${base}/big/100000`);
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe('100000');
    expect(text.length).toBe(100_000);
    expect(JSON.parse(text)).toBe('x'.repeat(99_998));
  });

  it('echoes /echo: method, path, headers and the raw body', async () => {
    const { body } = await json('/echo?q=1', {
      method: 'PUT',
      headers: { 'content-type': 'text/plain', 'x-test': 'echo' },
      body: 'raw {not json}',
    });
    expect(body).toMatchObject({
      method: 'PUT',
      path: '/echo?q=1',
      headers: { 'content-type': 'text/plain', 'x-test': 'echo' },
      body: 'raw {not json}',
    });
  });

  it('answers 404 for an unknown path', async () => {
    expect(await json('/nope')).toMatchObject({ status: 404 });
  });
});

describe('network failures, as workerd reports them', () => {
  it('rejects on a connection reset with Error "Network connection lost.", and does not retry', async () => {
    const k = key();
    const err = await rejection(fetch(`${base}/keyed/${k}/reset`));
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(TypeError);
    expect(err).not.toBeInstanceOf(DOMException);
    expect(err).toMatchObject({ name: 'Error', message: 'Network connection lost.' });
    const post = await rejection(fetch(`${base}/keyed/${k}/reset`, { method: 'POST', body: '{"a":1}' }));
    expect(post).toMatchObject({ name: 'Error', message: 'Network connection lost.' });
    expect((await json(`/count/${k}`)).body).toEqual({ calls: 2 });
  });

  it('rejects the same way when the connection closes without a response', async () => {
    const k = key();
    const err = await rejection(fetch(`${base}/keyed/${k}/close`));
    expect(err).toMatchObject({ name: 'Error', message: 'Network connection lost.' });
    expect((await json(`/count/${k}`)).body).toEqual({ calls: 1 });
  });

  it('rejects the same way when the connection is refused', async () => {
    // Port 1 (tcpmux) has no listener on these machines.
    const err = await rejection(fetch('http://127.0.0.1:1/ok'));
    expect(err).toMatchObject({ name: 'Error', message: 'Network connection lost.' });
  });

  it('keeps serving after resets and aborts', async () => {
    expect((await json('/ok')).status).toBe(200);
  });
});

describe('aborted fetches, as workerd reports them', () => {
  it('rejects with DOMException AbortError when aborted without a reason, and the upstream sees the abort', async () => {
    const k = key();
    const controller = new AbortController();
    const pending = fetch(`${base}/keyed/${k}/hang`, { signal: controller.signal });
    // Abort once the request has reached the upstream.
    await waitForLog(k, (calls) => calls.length === 1);
    controller.abort();
    const err = await rejection(pending);
    expect(err).toBeInstanceOf(DOMException);
    expect(err).toMatchObject({ name: 'AbortError', message: 'The operation was aborted', code: 20 });
    const calls = await waitForLog(k, (c) => c[0]?.aborted === true);
    expect(calls).toMatchObject([{ method: 'GET', path: `/keyed/${k}/hang`, aborted: true }]);
  });

  it('rejects with a copy of the reason, not the reason itself: a plain Error carrying its text', async () => {
    class CancelledError extends Error {
      override name = 'CancelledError';
    }
    const cases: [unknown, string][] = [
      [new Error('execution cancelled'), 'execution cancelled'],
      [new CancelledError('execution cancelled'), 'CancelledError: execution cancelled'],
      ['cancelled', 'cancelled'],
    ];
    for (const [reason, message] of cases) {
      const controller = new AbortController();
      const pending = fetch(`${base}/hang`, { signal: controller.signal });
      setTimeout(() => controller.abort(reason), 30);
      const err = await rejection(pending);
      // The class and identity are lost; only `signal.aborted` tells a cancel apart reliably.
      expect(err).not.toBe(reason);
      expect(err).not.toBe(controller.signal.reason);
      expect(err).toBeInstanceOf(Error);
      expect(err).not.toBeInstanceOf(CancelledError);
      expect(err).toMatchObject({ name: 'Error', message });
      expect(controller.signal.aborted).toBe(true);
    }
  });

  it('rejects with DOMException TimeoutError for AbortSignal.timeout', async () => {
    const t0 = Date.now();
    const err = await rejection(fetch(`${base}/hang`, { signal: AbortSignal.timeout(100) }));
    expect(err).toBeInstanceOf(DOMException);
    expect(err).toMatchObject({
      name: 'TimeoutError',
      message: 'The operation was aborted due to timeout',
      code: 23,
    });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
  });

  it('rejects at once with AbortError when the signal is already aborted (nothing is sent)', async () => {
    const k = key();
    const controller = new AbortController();
    controller.abort();
    const err = await rejection(fetch(`${base}/keyed/${k}/ok`, { signal: controller.signal }));
    expect(err).toMatchObject({ name: 'AbortError' });
    expect((await json(`/count/${k}`)).body).toEqual({ calls: 0 });
  });

  it('aborts a slow answer, and the upstream drops it without crashing', async () => {
    const k = key();
    const err = await rejection(fetch(`${base}/keyed/${k}/slow/5000`, { signal: AbortSignal.timeout(100) }));
    expect(err).toMatchObject({ name: 'TimeoutError' });
    expect(await waitForLog(k, (c) => c[0]?.aborted === true)).toMatchObject([{ aborted: true }]);
    expect((await json('/ok')).status).toBe(200);
  });

  it('rejects reading the body with AbortError when aborted after the headers', async () => {
    const controller = new AbortController();
    const res = await fetch(`${base}/big/20000000`, { signal: controller.signal });
    expect(res.status).toBe(200);
    controller.abort();
    expect(await rejection(res.text())).toMatchObject({ name: 'AbortError' });
  });
});

/**
 * Yoga on Node builds its responses with @whatwg-node's ponyfill, not the runtime's own Fetch
 * classes. The app copies every response (security headers) with the global Response, and
 * Node 20's undici wraps a foreign body stream in one of its own that throws an uncaught error
 * when the client cancels while a read is pending: a subscription ended by a leaving SSE client
 * would take the process down. A long-lived stream is therefore handed on as a native one here,
 * with cancellation passed through to Yoga at once (which ends the subscription).
 */
export function nativeResponse(response: Response): Response {
  const body = response.body;
  // Typed as a ReadableStream either way; only the runtime's own has this prototype.
  if (!body || Object.getPrototypeOf(body) === ReadableStream.prototype) return response;
  const reader = body.getReader();
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (e) {
        // Cancelled while reading: the stream is closed already and nobody reads any more.
        if (controller.desiredSize !== null) controller.error(e);
      }
    },
    // The stream's cancel, not the reader's: the ponyfill's reader.cancel() waits behind the
    // pending read, which for an idle subscription may never come.
    cancel: (reason) => body.cancel(reason),
  });
  return new Response(stream, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

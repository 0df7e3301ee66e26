/**
 * Reads a byte stream to its end, or gives up at the first byte over `max` (the rest is never
 * downloaded; the stream is cancelled). Used for request bodies (bodyLimit.ts) and for what a
 * workflow's HTTP step receives (httpCall.ts).
 */
export async function readUpTo(
  stream: ReadableStream<Uint8Array>,
  max: number,
): Promise<Uint8Array<ArrayBuffer> | null> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel('over the size limit').catch(() => {});
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

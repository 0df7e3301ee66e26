import { describe, expect, it } from 'vitest';
import { batchedSink } from '../src/log';

describe('batchedSink', () => {
  it('writes the lines of one tick together, in order, each on its own line', async () => {
    const writes: string[] = [];
    const sink = batchedSink((text) => writes.push(text));
    sink('{"a":1}');
    sink('{"b":2}');
    expect(writes).toEqual([]);
    await Promise.resolve();
    expect(writes).toEqual(['{"a":1}\n{"b":2}\n']);
    sink('{"c":3}');
    await Promise.resolve();
    expect(writes).toEqual(['{"a":1}\n{"b":2}\n', '{"c":3}\n']);
  });
});

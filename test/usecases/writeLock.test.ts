import { describe, expect, it } from 'vitest';
import { keyedMutex } from '../../src/usecases/ports/writeLock';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('keyedMutex', () => {
  it('runs the work of one key one at a time, in arrival order', async () => {
    const lock = keyedMutex();
    const log: string[] = [];
    let inside = 0;
    let most = 0;
    const job = (name: string) =>
      lock('acme', async () => {
        inside++;
        most = Math.max(most, inside);
        log.push(`${name}:start`);
        await tick();
        log.push(`${name}:end`);
        inside--;
        return name;
      });
    expect(await Promise.all([job('a'), job('b'), job('c')])).toEqual(['a', 'b', 'c']);
    expect(most).toBe(1);
    expect(log).toEqual(['a:start', 'a:end', 'b:start', 'b:end', 'c:start', 'c:end']);
  });

  it('lets different keys run side by side', async () => {
    const lock = keyedMutex();
    let inside = 0;
    let most = 0;
    const job = (key: string) =>
      lock(key, async () => {
        inside++;
        most = Math.max(most, inside);
        await tick();
        inside--;
      });
    await Promise.all([job('acme'), job('globex')]);
    expect(most).toBe(2);
  });

  it('a failing job rejects its caller only; the queue goes on', async () => {
    const lock = keyedMutex();
    const failing = lock('acme', async () => {
      throw new Error('boom');
    });
    const next = lock('acme', async () => 'after');
    await expect(failing).rejects.toThrow('boom');
    expect(await next).toBe('after');
  });
});

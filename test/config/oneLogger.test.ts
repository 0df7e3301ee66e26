/// <reference types="vite/client" />
import { describe, expect, it } from 'vitest';

const SOURCES = import.meta.glob<string>('../../src/**/*.{ts,mts,mjs}', {
  query: '?raw',
  import: 'default',
  eager: true,
});

/**
 * Logs go through src/log.ts (structured JSON, one object per line, a sink the Node runtime
 * batches). What the Node runtime's command prints (banner, usage, start-up failures) is output
 * for a person, not a log line.
 */
const OUTPUT = new Set(['src/log.ts', 'src/runtime/node/main.ts']);

const code = (source: string) =>
  source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');

describe('one logger', () => {
  it('nothing under src/ writes to the console but the logger and the Node command', () => {
    const strays = Object.entries(SOURCES)
      .map(([path, source]) => [path.replace(/^(\.\.\/)+/, ''), source] as const)
      .filter(([file, source]) => !OUTPUT.has(file) && /\bconsole\.\w+\s*\(/.test(code(source)))
      .map(([file]) => file);
    expect(Object.keys(SOURCES).length).toBeGreaterThan(100);
    expect(strays).toEqual([]);
  });
});

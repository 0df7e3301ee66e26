// The two flags every bench HTTP server takes: the SQLite file (already migrated and seeded by
// bench/sections/http.mjs) and the loopback port.
import { parseArgs } from 'node:util';

export function serverArgs() {
  const { values } = parseArgs({ options: { db: { type: 'string' }, port: { type: 'string' } } });
  if (!values.db || !values.port) throw new Error('usage: --db <file.sqlite> --port <n>');
  return { db: values.db, port: Number(values.port) };
}

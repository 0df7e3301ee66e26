// The bench database in Node: a SQLite file behind the project's own D1 adapter (src/runtime/node/sqlite.ts),
// migrated with the project's migrations and filled with the shared data set. The in-process and
// HTTP sections both use it; the servers open the file by path.
import { fileURLToPath } from 'node:url';
import { applyMigrations, openSqliteD1 } from '../../src/runtime/node/sqlite.ts';
import { seedD1, seedStatements } from '../fixture/seed.mjs';

const MIGRATIONS = fileURLToPath(new URL('../../migrations', import.meta.url));

/**
 * Creates, migrates and seeds the database at `path`; returns it open.
 * @param {string} path
 */
export async function createBenchDatabase(path) {
  const db = openSqliteD1(path);
  applyMigrations(db, MIGRATIONS);
  await seedD1(db, seedStatements());
  return db;
}

/** Opens an existing bench database (a server process of the HTTP section). */
export const openBenchDatabase = (/** @type {string} */ path) => openSqliteD1(path);

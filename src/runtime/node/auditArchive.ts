import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { type AuditArchive, assertSameObject } from '../../usecases/ports/auditArchive';

/**
 * The audit archive on Node: a directory (AUDIT_ARCHIVE_DIR) holding the objects the Worker puts in
 * R2, at the same keys (`digests/<tenant>/<toSeq>.json`). Put it on storage the database's writers
 * cannot rewrite (another volume, a synced bucket) for the digests to anchor anything.
 */
export function directoryArchive(dir: string): AuditArchive {
  const root = resolve(dir);
  const pathOf = (key: string) => {
    const path = resolve(join(root, key));
    // Keys are ours (digestObjectKey percent-encodes the tenant); still, never outside the directory.
    if (!path.startsWith(root + sep)) throw new Error(`archive key outside the archive: ${key}`);
    return path;
  };
  return {
    put: async (key, body) => {
      const path = pathOf(key);
      await mkdir(dirname(path), { recursive: true });
      // Written aside and linked into place: a reader never sees half a digest, and link (unlike
      // rename) fails when the key exists, so an object is never replaced.
      const partial = `${path}.${process.pid}.partial`;
      await writeFile(partial, body);
      try {
        await link(partial, path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        assertSameObject(key, body, await read(path, null));
      } finally {
        await unlink(partial);
      }
    },
    get: (key) => read(pathOf(key), 'utf8'),
  };
}

async function read(path: string, encoding: 'utf8'): Promise<string | null>;
async function read(path: string, encoding: null): Promise<Uint8Array | null>;
async function read(path: string, encoding: 'utf8' | null): Promise<string | Uint8Array | null> {
  try {
    return await readFile(path, encoding === null ? {} : { encoding });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

// The Node runtime's audit archive (AUDIT_ARCHIVE_DIR): write-once like the Worker's R2 archive,
// so a database restored behind its digests cannot replace what they anchored.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { directoryArchive } from '../../src/runtime/node/auditArchive.ts';

const dir = mkdtempSync(join(tmpdir(), 'changeflow-archive-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('directory archive', () => {
  const archive = directoryArchive(dir);
  const key = 'digests/t1/00000000000000000003.json';

  test('writes once, accepts the same body again, refuses a different one and keeps the first', async () => {
    await archive.put(key, 'first\n');
    await archive.put(key, 'first\n');
    await assert.rejects(archive.put(key, 'second\n'), (e) => e.code === 'AUDIT_ARCHIVE_CONFLICT');
    assert.equal(await archive.get(key), 'first\n');
    assert.equal(readFileSync(join(dir, key), 'utf8'), 'first\n');
    // No partial files are left beside the object, whichever way the put ended.
    assert.deepEqual(readdirSync(join(dir, 'digests/t1')), ['00000000000000000003.json']);
  });

  test('a missing object reads as null, and keys never leave the directory', async () => {
    assert.equal(await archive.get('digests/t1/none.json'), null);
    await assert.rejects(archive.put('../outside.json', 'x'), /outside the archive/);
  });
});

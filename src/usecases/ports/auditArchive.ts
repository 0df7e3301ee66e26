import { AppError } from '../../errors';

/**
 * Where signed audit digests are written, outside the database whose chain they anchor: the R2
 * bucket AUDIT_ARCHIVE in a Worker (src/runtime/worker/ports.ts), a directory on Node
 * (AUDIT_ARCHIVE_DIR, src/runtime/node/auditArchive.ts). Keys are paths such as
 * `digests/<tenant>/<toSeq padded>.json`, or `exports/<tenant>/<id>/…` for tenant exports (their
 * table files are gzip bytes). Objects are written once and never replaced: D1 can be rolled back
 * (Time Travel, a restore) but what was anchored outside it must stay as it was.
 */
export interface AuditArchive {
  /**
   * Creates the object. Writing the same body again succeeds (a retried run); a different body at
   * an existing key fails with AUDIT_ARCHIVE_CONFLICT and leaves the stored object as it was.
   */
  put(key: string, body: ArchiveBody): Promise<void>;
  /** The object's text, or null when there is none. */
  get(key: string): Promise<string | null>;
}

export type ArchiveBody = string | Uint8Array<ArrayBuffer>;

const bytesOf = (body: ArchiveBody) => (typeof body === 'string' ? new TextEncoder().encode(body) : body);

/** A create-only put found `key` taken: the same body is a retried write, another is a conflict. */
export function assertSameObject(key: string, body: ArchiveBody, existing: Uint8Array | null): void {
  const want = bytesOf(body);
  if (existing && existing.length === want.length && existing.every((b, i) => b === want[i])) return;
  throw new AppError(
    'AUDIT_ARCHIVE_CONFLICT',
    `The audit archive already holds a different object at ${key}; it is never overwritten`,
    { key },
  );
}

/**
 * Where signed audit digests are written, outside the database whose chain they anchor: the R2
 * bucket AUDIT_ARCHIVE in a Worker (src/runtime/worker/ports.ts), a directory on Node
 * (AUDIT_ARCHIVE_DIR, src/runtime/node/auditArchive.ts). Keys are paths such as
 * `digests/<tenant>/<toSeq padded>.json`, or `exports/<tenant>/<id>/…` for tenant exports (their
 * table files are gzip bytes); a put of an existing key replaces it.
 */
export interface AuditArchive {
  put(key: string, body: string | Uint8Array<ArrayBuffer>): Promise<void>;
  /** The object's text, or null when there is none. */
  get(key: string): Promise<string | null>;
}

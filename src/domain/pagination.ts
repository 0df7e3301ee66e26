import { AppError } from '../errors';

/** Opaque keyset cursors: base64url of JSON, so clients never build them by hand. */
export function encodeCursor(value: unknown): string {
  return btoa(JSON.stringify(value)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

export function decodeCursor<T>(cursor: string, isValid: (v: unknown) => v is T): T {
  try {
    const value: unknown = JSON.parse(atob(cursor.replaceAll('-', '+').replaceAll('_', '/')));
    if (isValid(value)) return value;
  } catch {
    // fall through to the error below
  }
  throw new AppError('VALIDATION_FAILED', 'after: not a cursor returned by this API', {
    issues: [{ field: 'after', message: 'invalid cursor' }],
  });
}

export interface Page<T> {
  nodes: T[];
  hasNextPage: boolean;
  endCursor: string | null;
}

/** Turns `limit + 1` fetched rows into a page. */
export function toPage<T>(rows: T[], limit: number, cursorOf: (row: T) => unknown): Page<T> {
  const nodes = rows.slice(0, limit);
  const last = nodes.at(-1);
  return {
    nodes,
    hasNextPage: rows.length > limit,
    endCursor: last === undefined ? null : encodeCursor(cursorOf(last)),
  };
}

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

/** What a client asks of a cursor page: at most `first` items after the `after` cursor. */
export interface PageRequest {
  first?: number | null;
  after?: string | null;
}

/** How big a page is when `first` is left out, and the most it may ask for. */
export interface PageSize {
  default: number;
  max: number;
}

export const PAGE_SIZE: PageSize = { default: 20, max: 100 };

/** How a list's keyset cursor is read back and taken from its last row. */
export interface Keyset<T, C> {
  isCursor: (v: unknown) => v is C;
  cursorOf: (row: T) => C;
}

/** The keyset of lists ordered newest first: `created_at DESC, id DESC`. */
export interface CreatedAtCursor {
  createdAt: string;
  id: string;
}

export const byCreatedAt: Keyset<{ createdAt: string; id: string }, CreatedAtCursor> = {
  isCursor: (v): v is CreatedAtCursor =>
    typeof v === 'object' &&
    v !== null &&
    typeof (v as CreatedAtCursor).createdAt === 'string' &&
    typeof (v as CreatedAtCursor).id === 'string',
  cursorOf: (row) => ({ createdAt: row.createdAt, id: row.id }),
};

/**
 * One cursor page of any list: decodes `after`, fetches one row more than the page holds (to know
 * whether another follows) and encodes the next cursor from the page's last row.
 */
export async function paginate<T extends R, R, C>(
  request: PageRequest,
  size: PageSize,
  keyset: Keyset<R, C>,
  fetch: (limit: number, cursor: C | null) => Promise<T[]>,
): Promise<Page<T>> {
  const limit = request.first ?? size.default;
  const cursor = request.after ? decodeCursor(request.after, keyset.isCursor) : null;
  return toPage(await fetch(limit + 1, cursor), limit, keyset.cursorOf);
}

import { AppError } from '../errors';

/**
 * A subscription's feed, which only the runtime's live hub provides (the LivePort): where a
 * subscription reaches the schema without one, the caller is told where subscriptions are served.
 */
export function servedHere<T>(feed: AsyncIterable<T> | undefined): AsyncIterable<T> {
  if (!feed) throw new AppError('BAD_REQUEST', 'Subscriptions are served over WebSocket or SSE on /graphql');
  return feed;
}

import type { Plugin } from 'graphql-yoga';
import type { ServerContext } from '../graphqlServer';

/** Adds X-Request-Id to GraphQL responses too (Yoga builds them itself). */
export const useRequestIdHeader = (): Plugin<ServerContext> => ({
  onResponse({ response, serverContext }) {
    const { requestId } = serverContext as Partial<ServerContext>;
    if (requestId) response.headers.set('X-Request-Id', requestId);
  },
});

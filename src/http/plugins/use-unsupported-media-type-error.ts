import type { Plugin } from 'graphql-yoga';
import type { ServerContext } from '../graphqlServer';
import { graphqlErrorResponse } from '../responses';

/**
 * Yoga answers a POST whose content type no request parser accepts with a bare 415 and no body;
 * say what went wrong, with a code, like every other refusal. Registered last, so it only acts
 * when no parser (built-in or from a plugin) took the request.
 */
export const useUnsupportedMediaTypeError = (): Plugin<ServerContext> => ({
  onRequestParse({ request, requestParser, endResponse }) {
    if (requestParser || request.method !== 'POST') return;
    const type = request.headers.get('content-type');
    endResponse(
      graphqlErrorResponse(
        'UNSUPPORTED_MEDIA_TYPE',
        `Unsupported content type ${type ? JSON.stringify(type) : '(none)'}: send application/json`,
      ),
    );
  },
});

import type { Plugin } from 'graphql-yoga';
import { graphqlErrorResponse } from '../responses';

/**
 * Yoga answers a request whose Accept header admits none of its response types with a bare 406
 * and no body; say what went wrong, with a code, like every other refusal. Registered last, so
 * it only acts when no result processor accepted the request.
 */
export const useNotAcceptableError = (): Plugin => ({
  onResultProcess({ request, resultProcessor, acceptableMediaTypes, setResultProcessor }) {
    if (resultProcessor) return;
    const accept = request.headers.get('accept');
    const offered = acceptableMediaTypes.length
      ? acceptableMediaTypes.join(', ')
      : 'application/graphql-response+json, application/json';
    setResultProcessor(
      (_result) =>
        graphqlErrorResponse(
          'NOT_ACCEPTABLE',
          `Cannot answer in any type the Accept header ${JSON.stringify(accept ?? '')} admits; accept one of: ${offered}`,
        ),
      'application/json',
    );
  },
});

import type { Plugin } from 'graphql-yoga';
import { AppError } from '../errors';

/**
 * Yoga's request parsers call JSON.parse on the `variables` and `extensions` query parameters of
 * a GET (and on the fields of urlencoded and multipart POSTs) without catching: a malformed value
 * escaped as an unexpected error, a 500. It is the caller's mistake: say so, with a code.
 */
export const useRequestParseErrors = (): Plugin => ({
  onRequestParse({ requestParser, setRequestParser }) {
    if (!requestParser) return;
    setRequestParser(async (request) => {
      try {
        return await requestParser(request);
      } catch (e) {
        if (!(e instanceof SyntaxError)) throw e;
        const where = request.method === 'GET' ? 'A query parameter' : 'A field of the request body';
        throw new AppError(
          'BAD_REQUEST',
          `${where} is not valid JSON (variables and extensions must be JSON objects): ${e.message}`,
        );
      }
    });
  },
});

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
      (_result, fetchAPI) =>
        new fetchAPI.Response(
          JSON.stringify({
            errors: [
              {
                message: `Cannot answer in any type the Accept header ${JSON.stringify(accept ?? '')} admits; accept one of: ${offered}`,
                extensions: { code: 'BAD_REQUEST' },
              },
            ],
          }),
          { status: 406, headers: { 'content-type': 'application/json; charset=utf-8' } },
        ),
      'application/json',
    );
  },
});

import type { Plugin } from 'graphql-yoga';
import { AppError } from '../../errors';

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

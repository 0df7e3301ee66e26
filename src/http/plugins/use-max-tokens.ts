import type { Plugin } from 'graphql-yoga';
import { exceedsTokens, queryLimitError } from '../queryLimits';

/**
 * The token limit, checked before parsing. (graphql-armor's max-tokens plugin subclasses the
 * Parser from `graphql/language/parser`, a second copy of graphql next to the bundled one: its
 * syntax errors are not instances of our GraphQLError and would be masked as INTERNAL. The
 * Lexer from `graphql` itself counts the same tokens.)
 */
export function useMaxTokens(maxTokens: number): Plugin {
  return {
    onParse({ parseFn, setParseFn }) {
      // Wraps the parse itself, which Yoga's document cache skips for a document seen before.
      setParseFn((source, options) => {
        if (exceedsTokens(source, maxTokens)) throw queryLimitError('tokens', maxTokens);
        return parseFn(source, options);
      });
    },
  };
}

import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import type { GraphQLError } from 'graphql';
import { handleStreamOrSingleExecutionResult, type Plugin } from 'graphql-yoga';
import { withoutSuggestions } from '../queryLimits';

/**
 * Without introspection, error messages must not list the schema's names either: graphql-armor
 * hides field suggestions in validation errors (its plugin, added here); the rest (enum values,
 * variables' input fields coerced at execution) are removed from every error message here.
 */
export function useNoSuggestions(): Plugin {
  const scrub = (errors: readonly GraphQLError[] | undefined) => {
    for (const error of errors ?? []) error.message = withoutSuggestions(error.message);
  };
  return {
    onPluginInit({ addPlugin }) {
      addPlugin(blockFieldSuggestionsPlugin({ mask: '' }) as Plugin);
    },
    onValidate() {
      return ({ valid, result }) => {
        if (!valid) scrub(result as GraphQLError[]);
      };
    },
    onExecute() {
      return {
        onExecuteDone: (payload) =>
          handleStreamOrSingleExecutionResult(payload, ({ result }) => scrub(result.errors)),
      };
    },
  };
}

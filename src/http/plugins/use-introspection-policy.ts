import type { ValidationRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { AppError } from '../../errors';
import { useNoSuggestions } from './use-no-suggestions';

const INTROSPECTION_FIELDS = new Set(['__schema', '__type']);

/**
 * Refuses `__schema` and `__type` (not `__typename`), like graphql's NoSchemaIntrospectionCustomRule.
 * A validation error: 200 to legacy `application/json` clients, else the code's 403.
 */
const noIntrospection: ValidationRule = (context) => ({
  Field(node) {
    const field = node.name.value;
    if (!INTROSPECTION_FIELDS.has(field)) return;
    context.reportError(
      new AppError(
        'INTROSPECTION_DISABLED',
        `GraphQL introspection is disabled on this server ("${field}" was requested); it is enabled by GRAPHQL_INTROSPECTION=true`,
        { field },
      ),
    );
  },
});

/**
 * Introspection on (development's default): nothing to add. Off: `__schema`/`__type` are refused
 * with INTROSPECTION_DISABLED and suggestions are stripped from error messages.
 */
export function useIntrospectionPolicy(enabled: boolean): Plugin {
  if (enabled) return {};
  return {
    onPluginInit({ addPlugin }) {
      addPlugin(useNoSuggestions());
    },
    onValidate({ addValidationRule }) {
      addValidationRule(noIntrospection);
    },
  };
}

import { execute } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * Queries and mutations run on graphql-js `execute` instead of Yoga's default
 * (`@graphql-tools/executor`'s normalizedExecutor), which exists for `@defer`/`@stream` and
 * incremental delivery: the schema has neither directive, so it is work with nothing to show for
 * it (docs/performance.md has the before/after). Subscriptions keep Yoga's executor: it is the
 * one that returns their async iterator the way Yoga's SSE and graphql-ws expect.
 */
export function useGraphqlJsExecute(): Plugin {
  return {
    onExecute({ setExecuteFn }) {
      setExecuteFn(execute);
    },
  };
}

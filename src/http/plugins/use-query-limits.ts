import type { ExecutionArgs, GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { costWithVariables, DEFAULT_QUERY_LIMITS, type QueryLimits, queryLimitRules } from '../queryLimits';

/**
 * Refuses every operation over the limits (defaults: DEFAULT_QUERY_LIMITS): depth, aliases,
 * directives and cost while validating, and the cost again once the variables are known when a
 * list size comes from one. (Tokens are counted before parsing: use-max-tokens.ts.)
 */
export function useQueryLimits(limits: Partial<QueryLimits> = {}): Plugin {
  const { maxCost } = { ...DEFAULT_QUERY_LIMITS, ...limits };
  const rules = queryLimitRules(limits);
  const recheck = ({
    args,
    setResultAndStopExecution,
  }: {
    args: ExecutionArgs;
    setResultAndStopExecution: (result: { errors: GraphQLError[] }) => void;
  }) => {
    const error = costWithVariables(args, maxCost);
    if (error) setResultAndStopExecution({ errors: [error] });
  };
  return {
    onValidate({ addValidationRule }) {
      for (const rule of rules) addValidationRule(rule);
    },
    onExecute: recheck,
    onSubscribe: recheck,
  };
}

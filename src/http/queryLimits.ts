import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import {
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLArgument,
  type GraphQLError,
  type GraphQLSchema,
  getOperationAST,
  Kind,
  Lexer,
  type OperationDefinitionNode,
  Source,
  TokenKind,
  TypeInfo,
  type ValidationContext,
  type ValidationRule,
  validate,
  visit,
  visitWithTypeInfo,
} from 'graphql';
import { AppError } from '../errors';

/**
 * Limits on the shape of a GraphQL document, checked before anything runs (graphql-armor's rules,
 * plus a re-check of the cost once variables are known; the plugins that apply them are
 * plugins/use-max-tokens.ts and plugins/use-query-limits.ts). Every refusal is an error with
 * `extensions.code: "QUERY_LIMIT_EXCEEDED"`, `extensions.limit` naming the limit, `max` and (except
 * for tokens, where counting stops at the limit) `found`, answered with HTTP 400 (200 to legacy `application/json`
 * clients, as every GraphQL validation error; see plugins/use-error-status.ts).
 */
export type QueryLimitName = 'depth' | 'aliases' | 'directives' | 'tokens' | 'cost';

export interface QueryLimits {
  /** Deepest field nesting; fragments are flattened (spreading one adds no level). */
  maxDepth: number;
  /** Aliased fields per operation (`__typename` aliases are free). */
  maxAliases: number;
  /** Directives (`@include`, `@skip`, …) per operation. */
  maxDirectives: number;
  /** Lexical tokens in the whole document; parsing stops at the first token over. */
  maxTokens: number;
  /**
   * graphql-armor's cost: 1 per scalar, 2 per object field plus 1.5 × its children, times the
   * field's `first`/`last` (from the literal, or from the variables once they are known).
   */
  maxCost: number;
}

/**
 * The defaults, measured against the schema: the deepest legitimate selection is 5 (`changes →
 * nodes → approvals → approver → id`; the schema has no cycles), every MCP tool document costs at
 * most ~160 and has no aliases or directives and at most ~120 tokens, GraphiQL's introspection
 * query has ~160 tokens. The biggest legitimate list — `changes(first: 100)` with every change
 * field, its approvals with approvers, its requester and risk factors — costs ~15,500; the same
 * list twice (an alias) is over 25,000 and refused.
 */
export const DEFAULT_QUERY_LIMITS: QueryLimits = {
  maxDepth: 10,
  maxAliases: 15,
  maxDirectives: 10,
  maxTokens: 2000,
  maxCost: 25_000,
};

const LABELS: Record<QueryLimitName, string> = {
  depth: 'depth',
  aliases: 'alias',
  directives: 'directive',
  tokens: 'token',
  cost: 'cost',
};

const HINTS: Record<QueryLimitName, string> = {
  depth: 'select less deeply nested fields',
  aliases: 'use fewer aliases or several requests',
  directives: 'use fewer directives',
  tokens: 'send a shorter document',
  cost: 'ask for fewer items (`first`) or fewer fields',
};

/** The refusal for one limit; `found` is left out when it is not known (tokens). */
export function queryLimitError(limit: QueryLimitName, max: number, found?: number): AppError {
  const value =
    found === undefined
      ? `more than ${max} ${LABELS[limit]}s`
      : {
          depth: `depth ${found}`,
          aliases: `${found} aliases`,
          directives: `${found} directives`,
          tokens: `${found} tokens`,
          cost: `estimated cost ${found}`,
        }[limit];
  return new AppError(
    'QUERY_LIMIT_EXCEEDED',
    `Query ${LABELS[limit]} limit exceeded: ${value}, maximum ${max}; ${HINTS[limit]}`,
    { limit, max, ...(found === undefined ? {} : { found }) },
  );
}

/** armor's message ends with "found N." (N may be fractional for the cost). */
function foundIn(message: string): number | undefined {
  const match = /found (\d+(?:\.\d+)?)/.exec(message);
  return match ? Math.ceil(Number(match[1])) : undefined;
}

/** armor options that report our error instead of theirs (and throw it where there is no context). */
function refuse(limit: QueryLimitName, max: number) {
  return {
    exposeLimits: true,
    propagateOnRejection: false,
    onReject: [
      (context: ValidationContext | null, armorError: GraphQLError) => {
        const error = queryLimitError(limit, max, foundIn(armorError.message));
        if (!context) throw error;
        context.reportError(error);
      },
    ],
  };
}

const costRule = (maxCost: number) =>
  costLimitRule({ maxCost, flattenFragments: true, ...refuse('cost', maxCost) }) as ValidationRule;

const LIST_SIZE_ARGS = new Set(['first', 'last']);

/**
 * Per document (cached parses, so the same object per query text): the variables that give a
 * list size (`first: $n`), none for most documents.
 */
const sizedByVariables = new WeakMap<DocumentNode, string[]>();

function listSizeVariables(document: DocumentNode): string[] {
  let names = sizedByVariables.get(document);
  if (names === undefined) {
    const found = new Set<string>();
    visit(document, {
      Argument(node) {
        if (LIST_SIZE_ARGS.has(node.name.value) && node.value.kind === Kind.VARIABLE) {
          found.add(node.value.name.value);
        }
      },
    });
    names = [...found];
    sizedByVariables.set(document, names);
  }
  return names;
}

/**
 * Verdicts of the variable-sized cost check, per document and per what decides it (operation,
 * limit, and each list-size variable as `withListSizes` reads it): the same inputs always give
 * the same verdict, and re-validating a rewritten document on every request was 6% of the list's
 * CPU. Bounded per document, since the sizes come from callers.
 */
const costVerdicts = new WeakMap<DocumentNode, Map<string, GraphQLError | null>>();
const MAX_VERDICTS_PER_DOCUMENT = 32;

const sizeKey = (value: unknown) =>
  typeof value === 'number' && Number.isInteger(value)
    ? String(value)
    : value === undefined
      ? 'default'
      : '1';

/**
 * The largest value an argument accepts, from its Pothos validation (`validate: { max }`), or
 * Infinity. A larger value is refused by the field itself (VALIDATION_FAILED, naming the
 * argument), which says more than a cost error would.
 */
function declaredMax(argument: GraphQLArgument | null | undefined): number {
  const options = argument?.extensions?.pothosOptions as { validate?: { max?: unknown; maxValue?: unknown } };
  const max = options?.validate?.max ?? options?.validate?.maxValue;
  return typeof max === 'number' ? max : Number.POSITIVE_INFINITY;
}

/**
 * The operation about to run with its `first: $n` arguments replaced by the values sent (or the
 * variable's default; at most the argument's own maximum), so that the cost counts the list
 * sizes really asked for: a literal `first: 100` and `first: $n` with n = 100 cost the same.
 */
function withListSizes(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>> | null | undefined,
): DocumentNode {
  const defaults = new Map(
    (operation.variableDefinitions ?? []).map((d) => [d.variable.name.value, d.defaultValue]),
  );
  const size = (name: string): number => {
    const value = variables?.[name];
    if (typeof value === 'number' && Number.isInteger(value)) return value;
    const fallback = defaults.get(name);
    return value === undefined && fallback?.kind === Kind.INT ? Number.parseInt(fallback.value, 10) : 1;
  };
  const only: DocumentNode = {
    ...document,
    definitions: document.definitions.filter((d) => d.kind !== Kind.OPERATION_DEFINITION || d === operation),
  };
  const typeInfo = new TypeInfo(schema);
  return visit(
    only,
    visitWithTypeInfo(typeInfo, {
      Argument(node) {
        if (!LIST_SIZE_ARGS.has(node.name.value) || node.value.kind !== Kind.VARIABLE) return undefined;
        const limit = Math.min(declaredMax(typeInfo.getArgument()), Number.MAX_SAFE_INTEGER);
        const n = Math.max(1, Math.min(size(node.value.name.value), limit));
        return { ...node, value: { kind: Kind.INT, value: n.toFixed(0) } };
      },
    }),
  );
}

/** The cost refusal for an operation whose list sizes come from variables, or null. */
export function costWithVariables(args: ExecutionArgs, maxCost: number): GraphQLError | null {
  const names = listSizeVariables(args.document);
  if (names.length === 0) return null;
  const key = [
    args.operationName ?? '',
    maxCost,
    ...names.map((n) => sizeKey(args.variableValues?.[n])),
  ].join('\u0000');
  let verdicts = costVerdicts.get(args.document);
  const known = verdicts?.get(key);
  if (known !== undefined) return known;
  const operation = getOperationAST(args.document, args.operationName);
  if (!operation) return null;
  const sized = withListSizes(args.schema, args.document, operation, args.variableValues);
  const verdict = validate(args.schema, sized, [costRule(maxCost)])[0] ?? null;
  if (!verdicts) {
    verdicts = new Map();
    costVerdicts.set(args.document, verdicts);
  }
  if (verdicts.size >= MAX_VERDICTS_PER_DOCUMENT) verdicts.clear();
  verdicts.set(key, verdict);
  return verdict;
}

/** Whether a document has more than `max` tokens (comments excluded); lexing stops at max + 1. */
export function exceedsTokens(source: string | Source, max: number): boolean {
  const lexer = new Lexer(typeof source === 'string' ? new Source(source) : source);
  let count = 0;
  try {
    for (let token = lexer.advance(); token.kind !== TokenKind.EOF; token = lexer.advance()) {
      if (++count > max) return true;
    }
  } catch {
    // A lexical error: the parser reports it, with its position.
  }
  return false;
}

/** The validation rules for depth, aliases, directives and (literal) cost. */
export function queryLimitRules(limits: Partial<QueryLimits> = {}): ValidationRule[] {
  const { maxDepth, maxAliases, maxDirectives, maxCost } = { ...DEFAULT_QUERY_LIMITS, ...limits };
  return [
    maxDepthRule({ n: maxDepth, flattenFragments: true, ...refuse('depth', maxDepth) }) as ValidationRule,
    maxAliasesRule({ n: maxAliases, ...refuse('aliases', maxAliases) }) as ValidationRule,
    maxDirectivesRule({ n: maxDirectives, ...refuse('directives', maxDirectives) }) as ValidationRule,
    costRule(maxCost),
  ];
}

/** Every form of graphql-js's "Did you mean …?" (fields, arguments, types, enum values, input fields). */
const SUGGESTION = /\s*Did you mean [^?]*\?/g;

export const withoutSuggestions = (message: string) => message.replace(SUGGESTION, '');

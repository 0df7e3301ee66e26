import { exports } from 'cloudflare:workers';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { type DocumentNode, Kind, print } from 'graphql';

export interface GqlResult<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  data: T | null | undefined;
  errors:
    | { message: string; path?: string[]; extensions?: { code?: string; [k: string]: unknown } }[]
    | undefined;
}

interface GqlOptions {
  token?: string;
  headers?: Record<string, string>;
}

/**
 * POSTs a GraphQL operation to the worker under test, as a client would. A typed document (from
 * operations.generated.ts) types the variables and the result; tests that probe the schema with
 * their own text pass a string.
 */
export function gql<T, V>(
  query: TypedDocumentNode<T, V>,
  variables: NoInfer<V>,
  opts?: GqlOptions,
): Promise<GqlResult<T>>;
export function gql<T = Record<string, unknown>>(
  query: string,
  variables?: Record<string, unknown>,
  opts?: GqlOptions,
): Promise<GqlResult<T>>;
export function gql<T>(query: string | DocumentNode, variables: unknown = {}, opts: GqlOptions = {}) {
  return post<T>(query, variables, opts);
}

/** Like gql, but fails the test with the errors when there are any. */
export function gqlOk<T, V>(query: TypedDocumentNode<T, V>, variables: NoInfer<V>, token: string): Promise<T>;
export function gqlOk<T = Record<string, unknown>>(
  query: string,
  variables: Record<string, unknown>,
  token: string,
): Promise<T>;
export async function gqlOk<T>(query: string | DocumentNode, variables: unknown, token: string) {
  const r = await post<T>(query, variables, { token });
  if (r.errors?.length || !r.data) throw new Error(`GraphQL errors: ${JSON.stringify(r.errors)}`);
  return r.data;
}

async function post<T>(
  query: string | DocumentNode,
  variables: unknown,
  opts: GqlOptions,
): Promise<GqlResult<T>> {
  const res = await exports.default.fetch('http://cf.test/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...opts.headers,
    },
    body: JSON.stringify({ query: typeof query === 'string' ? query : print(query), variables }),
  });
  const body = (await res.json()) as { data?: T | null; errors?: GqlResult['errors'] };
  return { status: res.status, headers: res.headers, data: body.data, errors: body.errors };
}

/**
 * The selections of a generated fragment document as text (`id title …`), for tests that write
 * their own operation around a fragment's fields.
 */
export function fragmentFields(fragment: DocumentNode): string {
  const [definition] = fragment.definitions;
  if (definition?.kind !== Kind.FRAGMENT_DEFINITION) throw new Error('not a fragment document');
  return print(definition.selectionSet).slice(1, -1).trim();
}

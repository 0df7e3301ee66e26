import { exports } from 'cloudflare:workers';

export interface GqlResult<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  data: T | null | undefined;
  errors:
    | { message: string; path?: string[]; extensions?: { code?: string; [k: string]: unknown } }[]
    | undefined;
}

/** POSTs a GraphQL operation to the worker under test, as a client would. */
export async function gql<T = Record<string, unknown>>(
  query: string,
  variables: Record<string, unknown> = {},
  opts: { token?: string; headers?: Record<string, string> } = {},
): Promise<GqlResult<T>> {
  const res = await exports.default.fetch('http://cf.test/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...opts.headers,
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T | null; errors?: GqlResult['errors'] };
  return { status: res.status, headers: res.headers, data: body.data, errors: body.errors };
}

/** Like gql, but fails the test with the errors when there are any. */
export async function gqlOk<T = Record<string, unknown>>(
  query: string,
  variables: Record<string, unknown>,
  token: string,
): Promise<T> {
  const r = await gql<T>(query, variables, { token });
  if (r.errors?.length || !r.data) throw new Error(`GraphQL errors: ${JSON.stringify(r.errors)}`);
  return r.data;
}

import assert from 'node:assert/strict';

/**
 * A GraphQL caller for a server under test at `baseUrl`, as `token`: it posts the operation and
 * returns its data, failing the test on any GraphQL error. `send` is how: the network by default,
 * or an in-process app's fetch (inProcess below).
 * @param {string} baseUrl
 * @param {string} token
 * @param {(url: string, init: RequestInit) => Promise<Response>} [send]
 */
export function graphqlOk(baseUrl, token, send = fetch) {
  return async (/** @type {string} */ query, variables = {}) => {
    const res = await send(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = await res.json();
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    return body.data;
  };
}

/**
 * An app served in process (the Node runtime's `app.fetch`) as `send` for graphqlOk.
 * @param {{ fetch(request: Request): Promise<Response> }} app
 */
export const inProcess = (app) => (/** @type {string} */ url, /** @type {RequestInit} */ init) =>
  app.fetch(new Request(url, init));

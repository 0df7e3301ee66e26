import assert from 'node:assert/strict';

/**
 * A GraphQL caller for a server under test at `baseUrl`, as `token`: it posts the operation and
 * returns its data, failing the test on any GraphQL error.
 * @param {string} baseUrl
 * @param {string} token
 */
export function graphqlOk(baseUrl, token) {
  return async (/** @type {string} */ query, variables = {}) => {
    const res = await fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = await res.json();
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    return body.data;
  };
}

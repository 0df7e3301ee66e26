import { API_CSP } from './securityHeaders';

/**
 * What a browser opening /graphql sees where no GraphiQL is served (a Node runtime started without
 * its static pages): how to talk to the endpoint, instead of a JSON error. Static text, no script or style,
 * so the API's CSP (which allows nothing) fits it.
 */
const page = (endpoint: string) => `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>ChangeFlow GraphQL endpoint</title></head>
<body>
<h1>ChangeFlow GraphQL endpoint</h1>
<p>This address answers GraphQL, not browsers: send <code>POST /graphql</code> with
<code>Content-Type: application/json</code>, a body <code>{"query": "…", "variables": {…}}</code>
and a token in <code>Authorization: Bearer &lt;token&gt;</code> (or an API key in
<code>X-API-Key</code>).</p>
<pre>curl -s ${endpoint} \\
  -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\
  -d '{"query":"{ changes(first: 5) { nodes { id title status } } }"}'</pre>
<p>This server runs without its static pages. GraphiQL, the in-browser editor, and the dashboard
are in <code>public/</code>: <code>npm run serve:node</code> builds and serves them (or name the
directory with <code>--public</code>). The schema is at
<a href="/schema.graphql">/schema.graphql</a> where introspection is on; AI agents use
<code>/mcp</code>.</p>
</body>
</html>
`;

/** The Host header is the client's: escaped before it goes into the page. */
const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** 200 with the page; `Vary: Accept` because the same URL answers JSON to API clients. */
export function graphqlHelpPage(requestUrl: string): Response {
  const { origin, pathname } = new URL(requestUrl);
  return new Response(page(escapeHtml(`${origin}${pathname}`)), {
    status: 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': API_CSP,
      vary: 'accept',
      'cache-control': 'no-store',
    },
  });
}

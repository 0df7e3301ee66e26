import { ERRORS } from '../src/errors';

/** Where `npm run codegen` writes the error table (a drift test compares it with the registry). */
export const ERRORS_DOC_PATH = 'docs/errors.md';

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

/** docs/errors.md, generated from the registry in src/errors.ts: edit the registry, not the file. */
export function renderErrorsDoc(): string {
  const rows = Object.entries(ERRORS).map(
    ([code, { status, description }]) => `| \`${code}\` | ${status} | ${cell(description)} |`,
  );
  return `<!-- Generated from src/errors.ts by \`npm run codegen\` (scripts/docsErrors.ts): edit the registry, not this file. -->

# Error codes

Every error ChangeFlow answers carries a stable code, the same on every surface: callers branch on
the code, never on the message, and a code never changes meaning once shipped. How it is carried
depends on the surface:

- **GraphQL** (\`/graphql\`, also over WebSocket and SSE): \`{ "errors": [{ "message", "extensions": { "code", ... } }] }\`.
- **MCP** (\`/mcp\`, JSON-RPC 2.0): \`{ "jsonrpc": "2.0", "error": { "code": <JSON-RPC number>, "message", "data": { "code", ... } }, "id": null }\`;
  a tool call that fails is a tool result with \`isError: true\` whose text is \`{ "error": { "code", "message", ... } }\`.
- **Everything else** (webhooks, \`/graphql/ws-ticket\`, \`/metrics\`, \`/schema.graphql\`, \`/health\`, unknown routes):
  \`{ "error": { "code", "message", ... } }\`.

The HTTP status is the code's, below. One exception, from GraphQL over HTTP: a GraphQL request
error (the document does not parse or validate, the operation cannot be determined, a variable
cannot be coerced) is answered 200 to a client that accepts only \`application/json\`, and with the
status below to one that accepts \`application/graphql-response+json\`. When a GraphQL response
carries several errors, the highest status wins. Workflow step failures inside an execution carry
their own codes (\`EXECUTION-001\` to \`EXECUTION-009\`, see src/engine/errorClass.ts); they are data,
not HTTP answers.

| Code | HTTP status | Meaning |
|------|-------------|---------|
${rows.join('\n')}
`;
}

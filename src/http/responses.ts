/** Error answers outside Yoga, in the shape GraphQL-over-HTTP clients read: `{ errors: [...] }`. */
export function graphqlErrorResponse(
  status: number,
  code: string,
  message: string,
  extensions: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify({ errors: [{ message, extensions: { code, ...extensions } }] }), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

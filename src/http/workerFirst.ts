/**
 * The paths the app answers even where a static file has the same name: `run_worker_first` in
 * wrangler.toml (the Worker), and the Node runtime's static pages (src/runtime/node/staticAssets.ts)
 * read the same list. test/node/staticAssets.test.mjs checks that wrangler.toml says exactly this.
 * A pattern ending in `/*` also covers the path without it (`/hooks` and `/hooks/x`).
 */
export const WORKER_FIRST = [
  '/graphql',
  '/mcp',
  '/health',
  '/metrics',
  '/schema.graphql',
  '/.well-known/*',
  '/hooks/*',
  '/docs/mcp',
  '/mcp-apps/*',
] as const;

/** Whether a request for `pathname` goes to the app before any static file. */
export function isWorkerFirst(pathname: string): boolean {
  return WORKER_FIRST.some((pattern) => {
    if (!pattern.endsWith('/*')) return pathname === pattern;
    const prefix = pattern.slice(0, -2);
    return pathname === prefix || pathname.startsWith(`${prefix}/`);
  });
}

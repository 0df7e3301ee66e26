import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { type AppBindings, createApp } from '../../src/http/app';
import { ROUTES } from '../../src/http/routes';
import type { Decision } from '../../src/ratelimit/slidingWindow';
import { schema } from '../../src/schema';

/** Walks the orchestrator's routes in the table: each refuses no credential and a caller over the limit. */
type Err = { error: { code: string; message: string; details?: Record<string, unknown> } };

describe('every orchestrator route', () => {
  const app = createApp(schema);
  const bindings = env as unknown as AppBindings;
  const refused: Decision = {
    allowed: false,
    limit: 1,
    remaining: 0,
    resetSeconds: 60,
    retryAfterSeconds: 60,
  };
  const routes = ROUTES.filter((r) => r.surface === 'legacy').flatMap((r) =>
    r.methods.map((method) => {
      const path = String(r.path)
        .replace(/^\/\^|\$\/$/g, '')
        .replaceAll('\\/', '/')
        .replace('([^/]+)', 'x')
        .replace('(cancel)', 'cancel');
      return [`${method} ${path}`, method, path] as const;
    }),
  );

  it('covers the documented routes', () => {
    expect(routes.map(([label]) => label).sort()).toEqual(
      [
        'GET /api/workflows',
        'POST /api/workflows',
        'GET /api/workflows/x',
        'PUT /api/workflows/x',
        'DELETE /api/workflows/x',
        'GET /api/executions',
        'POST /api/executions',
        'GET /api/executions/x',
        'POST /api/executions/x/cancel',
      ].sort(),
    );
  });

  it.each(routes)(
    '%s: 401 without a credential, 429 over the limit, in its error shape',
    async (_, method, path) => {
      const request = () =>
        new Request(`http://cf.test${path}`, {
          method,
          ...(method === 'GET' || method === 'DELETE'
            ? {}
            : { body: '{}', headers: { 'content-type': 'application/json' } }),
        });
      const anonymous = await app.fetch(request(), bindings);
      expect(anonymous.status).toBe(401);
      expect(((await anonymous.json()) as Err).error.code).toBe('UNAUTHENTICATED');
      const limited = await app.fetch(request(), bindings, { rateLimiter: async () => refused });
      expect(limited.status).toBe(429);
      const body = (await limited.json()) as Err;
      expect(body.error.code).toBe('RATE_LIMITED');
      expect(body.error.details).toEqual({ retryAfterSeconds: 60 });
    },
  );
});

import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { schema } from '../../src/schema';
import { createApp } from '../../src/server/app';

const app = createApp(schema);

/** A D1 stand-in whose every query fails, as when the database is unreachable. */
const brokenDb = {
  prepare() {
    throw new Error('D1_ERROR: network connection lost');
  },
} as unknown as D1Database;

describe('GET /health', () => {
  it('answers 200 with the D1 check when the database responds', async () => {
    const res = await app.fetch(new Request('http://cf.test/health'), env);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      status: 'ok',
      environment: 'development',
      checks: { d1: { status: 'ok' } },
    });
    expect(typeof body.version).toBe('string');
    expect(Number.isNaN(Date.parse(String(body.timestamp)))).toBe(false);
  });

  it('answers 503 naming the failed check when D1 fails', async () => {
    const res = await app.fetch(new Request('http://cf.test/health'), { ...env, DB: brokenDb });
    expect(res.status).toBe(503);
    const body = (await res.json()) as { status: string; checks: { d1: { status: string; error: string } } };
    expect(body.status).toBe('degraded');
    expect(body.checks.d1.status).toBe('fail');
    expect(body.checks.d1.error).toContain('network connection lost');
  });

  it('answers 503 CONFIG_INVALID naming the variable when configuration is invalid', async () => {
    const res = await app.fetch(new Request('http://cf.test/health'), { ...env, ENVIRONMENT: 'prod' });
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('CONFIG_INVALID');
    expect(body.error.message).toContain('ENVIRONMENT');
  });
});

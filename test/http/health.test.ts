import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app';
import { schema } from '../../src/schema';

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
      checks: { d1: 'ok' },
    });
    expect(typeof body.version).toBe('string');
    expect(Number.isNaN(Date.parse(String(body.timestamp)))).toBe(false);
  });

  it('answers 503 naming the failed check, never the database error text', async () => {
    const lines: string[] = [];
    const logged = createApp(schema, { logSink: (line) => lines.push(line) });
    const res = await logged.fetch(new Request('http://cf.test/health'), { ...env, DB: brokenDb });
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({ status: 'degraded', checks: { d1: 'failed' } });
    expect(text).not.toContain('network connection lost');
    expect(text).not.toContain('D1_ERROR');
    // The operator still finds the reason in the log.
    expect(
      lines.some((l) => l.includes('health check failed') && l.includes('network connection lost')),
    ).toBe(true);
  });

  it('answers 503 CONFIG_INVALID naming the variable when configuration is invalid', async () => {
    const res = await app.fetch(new Request('http://cf.test/health'), { ...env, ENVIRONMENT: 'prod' });
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('CONFIG_INVALID');
    expect(body.error.message).toContain('ENVIRONMENT');
  });
});

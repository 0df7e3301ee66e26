import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { createApp } from '../../src/http/app';
import { durableObjectLimiter } from '../../src/runtime/worker/index';
import { schema } from '../../src/schema';
import { token } from '../helpers/auth';
import { countingD1 } from '../helpers/countingD1';

const app = createApp(schema);
const ports = { rateLimiter: durableObjectLimiter(env.RATE_LIMITER) };

function request(
  tok: string | null,
  path = '/graphql',
  body = '{"query":"{ me { id } }"}',
  ip = '203.0.113.7',
) {
  return new Request(`http://cf.test${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'cf-connecting-ip': ip,
      ...(tok ? { authorization: `Bearer ${tok}` } : {}),
    },
    body,
  });
}

const limited = (perMinute: number, burst: number, tiers: Record<string, unknown> = {}) => ({
  ...env,
  RATE_LIMIT_PER_MINUTE: String(perMinute),
  RATE_LIMIT_BURST_PER_SECOND: String(burst),
  RATE_LIMIT_TIERS: JSON.stringify(tiers),
});

describe('rate limiting per caller', () => {
  it('admits exactly the limit of 200 concurrent requests, with consistent headers', async () => {
    const tok = await token({ sub: 'burst-200', tenant: 'rl-exact', roles: ['viewer'] });
    const bindings = limited(50, 1000);
    const responses = await Promise.all(
      Array.from({ length: 200 }, () => app.fetch(request(tok), bindings, ports)),
    );
    const ok = responses.filter((r) => r.status === 200);
    const refused = responses.filter((r) => r.status === 429);
    expect(ok).toHaveLength(50);
    expect(refused).toHaveLength(150);
    const remaining = ok.map((r) => Number(r.headers.get('x-ratelimit-remaining'))).sort((a, b) => a - b);
    expect(remaining).toEqual(Array.from({ length: 50 }, (_, i) => i));
    for (const r of responses) {
      expect(r.headers.get('x-ratelimit-limit')).toBe('50');
      expect(Number(r.headers.get('x-ratelimit-reset'))).toBeGreaterThan(0);
    }
    const body = (await refused[0]?.json()) as {
      errors: { message: string; extensions: Record<string, unknown> }[];
    };
    expect(body.errors[0]?.extensions.code).toBe('RATE_LIMITED');
    expect(body.errors[0]?.message).toMatch(/retry after \d+ s/);
    expect(Number(refused[0]?.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('answers 429 over the burst limit, then admits again once the second has passed', async () => {
    const tok = await token({ sub: 'burst-recover', tenant: 'rl-recover', roles: ['viewer'] });
    const bindings = limited(1000, 5);
    const first = await Promise.all(
      Array.from({ length: 8 }, () => app.fetch(request(tok), bindings, ports)),
    );
    expect(first.filter((r) => r.status === 200)).toHaveLength(5);
    const refused = first.find((r) => r.status === 429);
    expect(refused?.headers.get('retry-after')).toBe('1');
    await new Promise((r) => setTimeout(r, 1100));
    const again = await app.fetch(request(tok), bindings, ports);
    expect(again.status).toBe(200);
    expect(again.headers.get('x-ratelimit-remaining')).toBe(String(1000 - 6));
  });

  it('counts each caller separately', async () => {
    const bindings = limited(2, 100);
    const a = await token({ sub: 'alice', tenant: 'rl-separate', roles: ['viewer'] });
    const b = await token({ sub: 'bob', tenant: 'rl-separate', roles: ['viewer'] });
    for (let i = 0; i < 2; i++) expect((await app.fetch(request(a), bindings, ports)).status).toBe(200);
    expect((await app.fetch(request(a), bindings, ports)).status).toBe(429);
    expect((await app.fetch(request(b), bindings, ports)).status).toBe(200);
  });

  it('limits anonymous callers by IP with the anonymous tier', async () => {
    const bindings = limited(1000, 100, { anonymous: { perMinute: 3, burstPerSecond: 100 } });
    const statuses = [];
    for (let i = 0; i < 4; i++)
      statuses.push(
        (await app.fetch(request(null, '/graphql', undefined, '198.51.100.9'), bindings, ports)).status,
      );
    expect(statuses).toEqual([401, 401, 401, 429]);
    const otherIp = await app.fetch(request(null, '/graphql', undefined, '198.51.100.10'), bindings, ports);
    expect(otherIp.status).toBe(401);
    expect(otherIp.headers.get('x-ratelimit-limit')).toBe('3');
  });

  it('answers an MCP client over the limit with a JSON-RPC error that says when to retry', async () => {
    const tok = await token({ sub: 'mcp-agent', tenant: 'rl-mcp', roles: ['viewer'] });
    const bindings = limited(1, 100);
    const init = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    });
    expect((await app.fetch(request(tok, '/mcp', init), bindings, ports)).status).toBe(200);
    const refused = await app.fetch(request(tok, '/mcp', init), bindings, ports);
    expect(refused.status).toBe(429);
    const body = (await refused.json()) as {
      error: { code: number; message: string; data: { retryAfterSeconds: number } };
    };
    expect(body.error.message).toMatch(/retry after \d+ s/);
    expect(body.error.data.retryAfterSeconds).toBeGreaterThan(0);
  });

  it('leaves /health alone (monitors poll it)', async () => {
    const bindings = limited(1, 1, { anonymous: { perMinute: 1, burstPerSecond: 1 } });
    for (let i = 0; i < 5; i++) {
      const res = await app.fetch(new Request('http://cf.test/health'), bindings, ports);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-ratelimit-limit')).toBeNull();
    }
  });

  it('refuses an invalid tier configuration, naming the variable', async () => {
    const res = await app.fetch(request(null), limited(10, 10, { robots: { perMinute: 1 } }), ports);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain(
      'RATE_LIMIT_TIERS',
    );
  });

  it('stops an agent looping on a mutation tool with a per-tool limit, while reads go on', async () => {
    const tok = await token({ sub: 'looping-agent', tenant: 'rl-tools', roles: ['requester'] });
    const bindings = limited(1000, 1000, {
      mcpWrite: { perMinute: 2, burstPerSecond: 10 },
      mcpRead: { perMinute: 100, burstPerSecond: 100 },
    });
    const call = (name: string, args: Record<string, unknown>) =>
      app.fetch(
        request(
          tok,
          '/mcp',
          JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } }),
        ),
        bindings,
        ports,
      );
    const input = {
      title: 'Loop',
      description: 'again',
      impact: 'LOW',
      urgency: 'LOW',
      affectedServices: ['x'],
    };
    const results = [];
    for (let i = 0; i < 3; i++) {
      results.push(
        (
          (await (await call('create_change_request', { input })).json()) as {
            result: Record<string, unknown>;
          }
        ).result,
      );
    }
    expect(results.slice(0, 2).every((r) => !r.isError)).toBe(true);
    expect(results[2]?.isError).toBe(true);
    const [text] = (results[2]?.content ?? []) as { text: string }[];
    const error = JSON.parse(text?.text ?? '{}').error;
    expect(error).toMatchObject({ code: 'RATE_LIMITED' });
    expect(error.retryAfterSeconds).toBeGreaterThan(0);
    expect(error.message).toMatch(/create_change_request.*retry after \d+ s/);
    const read = (await (await call('whoami', {})).json()) as { result: { isError?: boolean } };
    expect(read.result.isError).toBeUndefined();
  });

  it('can be switched off with RATE_LIMIT_ENABLED=false (no headers, no refusals)', async () => {
    const tok = await token({ sub: 'unlimited', tenant: 'rl-off', roles: ['viewer'] });
    const bindings = { ...limited(1, 1), RATE_LIMIT_ENABLED: 'false' };
    for (let i = 0; i < 3; i++) {
      const res = await app.fetch(request(tok), bindings, ports);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-ratelimit-limit')).toBeNull();
    }
  });
});

describe('the per-address limit, checked before any credential', () => {
  const junkKey = (ip: string, i: number, body = '{"query":"{ me { id } }"}') =>
    new Request('http://cf.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'cf-connecting-ip': ip, 'x-api-key': `cf_junk_${i}` },
      body,
    });

  it('refuses junk API keys over RATE_LIMIT_PER_IP_PER_MINUTE with 429 before looking them up', async () => {
    const counting = countingD1(env.DB);
    const bindings = { ...env, DB: counting.db, RATE_LIMIT_PER_IP_PER_MINUTE: '5' };
    const statuses: number[] = [];
    let last: Response | null = null;
    for (let i = 0; i < 8; i++) {
      last = await app.fetch(junkKey('198.51.100.21', i), bindings, ports);
      statuses.push(last.status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    const keyLookups = counting.statements.filter((sql) => /api_keys/i.test(sql));
    expect(keyLookups.length).toBeLessThanOrEqual(5);
    const body = (await last?.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0]?.extensions.code).toBe('RATE_LIMITED');
    expect(Number(last?.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another address is counted apart.
    expect((await app.fetch(junkKey('198.51.100.22', 9), bindings, ports)).status).toBe(401);
  });

  it('holds guesses at the METRICS_TOKEN of /metrics to RATE_LIMIT_PER_IP_PER_MINUTE', async () => {
    const bindings = {
      ...env,
      ENVIRONMENT: 'production',
      CORS_ORIGINS: 'https://app.example',
      JWT_AUDIENCE: 'changeflow',
      METRICS_TOKEN: 'm'.repeat(40),
      RATE_LIMIT_PER_IP_PER_MINUTE: '4',
    };
    const guess = (i: number) =>
      new Request('http://cf.test/metrics', {
        headers: {
          'cf-connecting-ip': '198.51.100.41',
          authorization: `Bearer guess-${i}-${'x'.repeat(32)}`,
        },
      });
    const statuses: number[] = [];
    // A runtime that records figures (the token check comes after that one).
    const recording = { ...ports, prometheus: async () => '' };
    for (let i = 0; i < 6; i++) statuses.push((await app.fetch(guess(i), bindings, recording)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 429, 429]);
  });

  it('counts valid callers too, whoever they authenticate as, and defaults to 300 a minute', async () => {
    const tok = await token({ sub: 'per-ip', tenant: 'rl-per-ip', roles: ['viewer'] });
    const bindings = { ...env, RATE_LIMIT_PER_IP_PER_MINUTE: '3' };
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      statuses.push(
        (await app.fetch(request(tok, '/graphql', undefined, '198.51.100.31'), bindings, ports)).status,
      );
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    const { RATE_LIMIT_PER_IP_PER_MINUTE: _, ...defaults } = env;
    expect(parseConfig(defaults).perIpLimit.perMinute).toBe(300);
  });

  it('keys on CF-Connecting-IP only: a client varying X-Real-IP stays in its bucket', async () => {
    const bindings = {
      ...limited(1000, 1000, { anonymous: { perMinute: 2, burstPerSecond: 10 } }),
    };
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      const req = request(null, '/graphql', undefined, '198.51.100.41');
      req.headers.set('x-real-ip', `10.9.9.${i}`);
      statuses.push((await app.fetch(req, bindings, ports)).status);
    }
    expect(statuses[2]).toBe(429);
    // Without CF-Connecting-IP (never so behind Cloudflare), X-Real-IP is not believed either.
    const bare = () => {
      const r = request(null, '/graphql', undefined, '198.51.100.41');
      r.headers.delete('cf-connecting-ip');
      return r;
    };
    const noCf = [];
    for (let i = 0; i < 3; i++) {
      const r = bare();
      r.headers.set('x-real-ip', `10.8.8.${i}`);
      noCf.push((await app.fetch(r, bindings, ports)).status);
    }
    expect(noCf[2]).toBe(429);
  });
});

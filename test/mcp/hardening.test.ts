import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { type AppBindings, createApp } from '../../src/http/app';
import { durableObjectLimiter } from '../../src/runtime/worker/index';
import { schema } from '../../src/schema';
import { TEST_AUDIENCE, TEST_MCP_RESOURCE, token } from '../helpers/auth';
import { createChange } from '../helpers/changes';

/**
 * /mcp as an attacker meets it: a web page that rebinds its DNS name to this server, one HTTP
 * request carrying a batch of 100 operations, and reads that used to skip the per-tool budget.
 */
const app = createApp(schema);
const ports = { rateLimiter: durableObjectLimiter(env.RATE_LIMITER) };

interface RpcAnswer {
  jsonrpc: '2.0';
  id: number | string | null;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: Record<string, unknown> };
}

const rpc = (id: number, method: string, params?: Record<string, unknown>) => ({
  jsonrpc: '2.0',
  id,
  method,
  ...(params ? { params } : {}),
});

const initialize = (protocolVersion: string, id = 1) =>
  rpc(id, 'initialize', {
    protocolVersion,
    capabilities: {},
    clientInfo: { name: 'attacker', version: '1' },
  });

function mcp(
  body: unknown,
  opts: { tok?: string; headers?: Record<string, string>; url?: string; method?: string } = {},
) {
  return new Request(opts.url ?? 'http://cf.test/mcp', {
    method: opts.method ?? 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(opts.tok ? { authorization: `Bearer ${opts.tok}` } : {}),
      ...opts.headers,
    },
    ...((opts.method ?? 'POST') === 'POST'
      ? { body: typeof body === 'string' ? body : JSON.stringify(body) }
      : {}),
  });
}

describe('Origin (DNS rebinding)', () => {
  it('refuses a rebinding page in development, where Host and Origin are forged alike', async () => {
    const tok = await token({ tenant: 'mcp-origin' });
    const res = await app.fetch(
      mcp(initialize('2025-06-18'), {
        tok,
        url: 'http://evil.example.com/mcp',
        headers: { host: 'evil.example.com', origin: 'http://evil.example.com' },
      }),
      env,
    );
    expect(res.status).toBe(403);
    const body = (await res.json()) as RpcAnswer;
    expect(body).toMatchObject({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32000, data: { code: 'ORIGIN_NOT_ALLOWED', origin: 'http://evil.example.com' } },
    });
    // No JSON-RPC handling happened: no result.
    expect(body.result).toBeUndefined();
  });

  it('refuses before anything else: a GET, a malformed body and no token all get the same 403', async () => {
    const headers = { origin: 'https://evil.example' };
    for (const req of [
      mcp(null, { headers, method: 'GET' }),
      mcp('{"jsonrpc": ', { headers }),
      mcp([rpc(1, 'ping'), rpc(2, 'ping')], { headers }),
    ]) {
      const res = await app.fetch(req, env);
      expect(res.status).toBe(403);
      expect(((await res.json()) as RpcAnswer).error?.data?.code).toBe('ORIGIN_NOT_ALLOWED');
    }
  });

  it.each(['http://localhost:5173', 'http://127.0.0.1:8787', 'http://[::1]:3000', 'http://localhost'])(
    'serves a loopback origin in development: %s',
    async (origin) => {
      const tok = await token({ tenant: 'mcp-origin' });
      const res = await app.fetch(mcp(initialize('2025-06-18'), { tok, headers: { origin } }), env);
      expect(res.status).toBe(200);
    },
  );

  it.each(['http://localhost.evil.example', 'https://127.0.0.1.nip.io', 'null', 'http://192.168.1.10:8787'])(
    'refuses a look-alike or private origin in development: %s',
    async (origin) => {
      const tok = await token({ tenant: 'mcp-origin' });
      expect((await app.fetch(mcp(initialize('2025-06-18'), { tok, headers: { origin } }), env)).status).toBe(
        403,
      );
    },
  );

  describe('in production', () => {
    const production: AppBindings = {
      ...env,
      ENVIRONMENT: 'production',
      JWT_AUDIENCE: TEST_AUDIENCE,
      MCP_RESOURCE_URL: TEST_MCP_RESOURCE,
      PUBLIC_URL: 'https://changeflow.example.com/',
      CORS_ORIGINS: 'https://ops.example.com',
    };

    it.each(['https://changeflow.example.com', 'https://ops.example.com'])(
      'serves the configured origin %s',
      async (origin) => {
        const tok = await token({ tenant: 'mcp-origin' });
        const res = await app.fetch(mcp(initialize('2025-06-18'), { tok, headers: { origin } }), production);
        expect(res.status).toBe(200);
        expect(((await res.json()) as RpcAnswer).result?.protocolVersion).toBe('2025-06-18');
      },
    );

    it.each([
      ['a foreign origin with its own Host', 'https://evil.example', 'evil.example'],
      ['a foreign origin with our Host', 'https://evil.example', 'changeflow.example.com'],
      ['localhost (development only)', 'http://localhost:8787', 'localhost:8787'],
      ['our host over plain http', 'http://changeflow.example.com', 'changeflow.example.com'],
    ])('refuses %s', async (_label, origin, host) => {
      const tok = await token({ tenant: 'mcp-origin' });
      const res = await app.fetch(
        mcp(initialize('2025-06-18'), { tok, url: `http://${host}/mcp`, headers: { origin, host } }),
        production,
      );
      expect(res.status).toBe(403);
    });

    it('serves a client that sends no Origin (not a browser)', async () => {
      const tok = await token({ tenant: 'mcp-origin' });
      expect((await app.fetch(mcp(initialize('2025-06-18'), { tok }), production)).status).toBe(200);
    });
  });
});

/** Bindings with an authenticated-caller limit and MCP read budget of our choosing. */
const limited = (authenticated: { perMinute: number; burstPerSecond: number }, mcpRead = authenticated) => ({
  ...env,
  RATE_LIMIT_TIERS: JSON.stringify({ authenticated, mcpRead }),
});

const pings = (n: number) => Array.from({ length: n }, (_, i) => rpc(i + 1, 'ping'));

describe('JSON-RPC batches', () => {
  it('refuses a batch of 100 under MCP-Protocol-Version 2025-06-18 (batches were removed)', async () => {
    const tok = await token({ sub: 'batch-new', tenant: 'mcp-batch' });
    const res = await app.fetch(
      mcp(pings(100), { tok, headers: { 'mcp-protocol-version': '2025-06-18' } }),
      env,
      ports,
    );
    expect(res.status).toBe(400);
    expect(((await res.json()) as RpcAnswer).error).toMatchObject({ code: -32600 });
  });

  it('refuses a header-less batch whose initialize asks for 2025-06-18 or later', async () => {
    const tok = await token({ sub: 'batch-init', tenant: 'mcp-batch' });
    for (const version of ['2025-06-18', '2025-11-25']) {
      const res = await app.fetch(mcp([initialize(version)], { tok }), env, ports);
      expect(res.status).toBe(400);
      expect(((await res.json()) as RpcAnswer).error?.message).toContain(`not part of MCP ${version}`);
    }
    // A 2025-03-26 initialize alone in a batch is still served.
    const old = await app.fetch(mcp([initialize('2025-03-26')], { tok }), env, ports);
    expect(old.status).toBe(200);
  });

  it('counts each message of a 2025-03-26 batch (no header) against the caller: 100 messages spend 100', async () => {
    const tok = await token({ sub: 'batch-cost', tenant: 'mcp-batch' });
    const bindings = limited({ perMinute: 150, burstPerSecond: 1000 });
    const first = await app.fetch(mcp(pings(100), { tok }), bindings, ports);
    expect(first.status).toBe(200);
    expect(((await first.json()) as RpcAnswer[]).length).toBe(100);
    expect(first.headers.get('x-ratelimit-remaining')).toBe('50');

    // 100 more do not fit in the 50 left: the whole batch is refused, and nothing of it ran.
    const second = await app.fetch(mcp(pings(100), { tok }), bindings, ports);
    expect(second.status).toBe(429);
    const refused = (await second.json()) as RpcAnswer;
    expect(refused.error).toMatchObject({ code: -32029, data: { code: 'RATE_LIMITED' } });
    expect(refused.error?.message).toMatch(/batch of 100 messages counts as 100 requests/);
    expect(Number(second.headers.get('retry-after'))).toBeGreaterThan(0);

    // The refused batch spent nothing beyond its own request: a single message still fits.
    const single = await app.fetch(mcp(rpc(1, 'ping'), { tok }), bindings, ports);
    expect(single.status).toBe(200);
    expect(single.headers.get('x-ratelimit-remaining')).toBe('48');
  });

  it('refuses a batch larger than the burst limit allows at all', async () => {
    const tok = await token({ sub: 'batch-burst', tenant: 'mcp-batch' });
    const res = await app.fetch(
      mcp(pings(100), { tok }),
      limited({ perMinute: 10_000, burstPerSecond: 50 }),
      ports,
    );
    expect(res.status).toBe(429);
  });

  it("counts each tools/call of a batch against the tool's budget", async () => {
    const tok = await token({ sub: 'batch-tool', tenant: 'mcp-batch', roles: ['viewer'] });
    const calls = Array.from({ length: 30 }, (_, i) =>
      rpc(i + 1, 'tools/call', { name: 'whoami', arguments: {} }),
    );
    const res = await app.fetch(
      mcp(calls, { tok }),
      limited({ perMinute: 1000, burstPerSecond: 1000 }, { perMinute: 10, burstPerSecond: 100 }),
      ports,
    );
    expect(res.status).toBe(200);
    const answers = (await res.json()) as RpcAnswer[];
    const limitedCalls = answers.filter(
      (a) => a.result?.isError && JSON.stringify(a.result).includes('RATE_LIMITED'),
    );
    expect(answers.length - limitedCalls.length).toBe(10);
    expect(limitedCalls).toHaveLength(20);
  });
});

describe('per-tool budgets for resources/read and prompts/get', () => {
  const budget = { perMinute: 5, burstPerSecond: 100 };

  it('limits resources/read per resource template, also inside a batch', async () => {
    const tok = await token({ sub: 'reader', tenant: 'mcp-budget', roles: ['requester'] });
    const change = await createChange(tok);
    const reads = Array.from({ length: 20 }, (_, i) =>
      rpc(i + 1, 'resources/read', { uri: `changeflow://changes/${change.id}` }),
    );
    const res = await app.fetch(
      mcp(reads, { tok }),
      limited({ perMinute: 1000, burstPerSecond: 1000 }, budget),
      ports,
    );
    expect(res.status).toBe(200);
    const answers = (await res.json()) as RpcAnswer[];
    expect(answers.filter((a) => a.result)).toHaveLength(5);
    const refused = answers.filter((a) => a.error);
    expect(refused).toHaveLength(15);
    expect(refused[0]?.error).toMatchObject({
      code: -32029,
      data: { code: 'RATE_LIMITED', retryAfterSeconds: expect.any(Number) },
    });
    expect(refused[0]?.error?.message).toContain('resource:');
  });

  it('limits prompts/get per prompt', async () => {
    const tok = await token({ sub: 'prompter', tenant: 'mcp-budget', roles: ['requester'] });
    const bindings = limited({ perMinute: 1000, burstPerSecond: 1000 }, budget);
    const get = (id: number) =>
      app.fetch(
        mcp(
          rpc(id, 'prompts/get', {
            name: 'draft_change_request',
            arguments: { description: 'Patch the web tier' },
          }),
          {
            tok,
            headers: { 'mcp-protocol-version': '2025-06-18' },
          },
        ),
        bindings,
        ports,
      );
    const answers: RpcAnswer[] = [];
    for (let i = 1; i <= 8; i++) answers.push((await (await get(i)).json()) as RpcAnswer);
    expect(answers.filter((a) => a.result)).toHaveLength(5);
    expect(answers.slice(5).map((a) => a.error?.code)).toEqual([-32029, -32029, -32029]);
    expect(answers[7]?.error?.data).toMatchObject({ code: 'RATE_LIMITED' });
  });
});

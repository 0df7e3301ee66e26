import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { ttlSeconds } from '../../src/auth/ttl.mjs';
import {
  CONFIG_VARS,
  ConfigError,
  type ConfigVars,
  configVars,
  loadConfig,
  nodeServerVars,
  parseConfig,
  VARIABLES,
  type VariableName,
  withDevelopmentKeys,
} from '../../src/config';
import { DEFAULT_COOLDOWN_MS, DEFAULT_FAILURE_THRESHOLD } from '../../src/engine/circuitBreaker';

const SECRET = 'x'.repeat(32);
/** The test pool's audit signing key (vitest.config.ts). */
const TEST_AUDIT_SIGNING_KEY = env.AUDIT_SIGNING_KEY;
const KEY = btoa(String.fromCharCode(...new Uint8Array(32).fill(7)));

function refusal(vars: ConfigVars): ConfigError {
  try {
    parseConfig({ JWT_SECRET: SECRET, ...vars });
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(vars)}`);
}

describe('the list of variables', () => {
  it('names each variable once, with a description and at least one runtime', () => {
    expect(new Set(CONFIG_VARS).size).toBe(VARIABLES.length);
    for (const v of VARIABLES) {
      expect(v.name).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(v.description.length).toBeGreaterThan(10);
      expect(v.runtimes.length).toBeGreaterThan(0);
      // A secret has no default value to print or to fall back on.
      if (v.secret) expect(v.default).toBeNull();
    }
  });

  it.each(
    VARIABLES.filter((v) => v.type === 'integer' && (v.runtimes as readonly string[]).includes('worker')).map(
      (v) => v.name,
    ),
  )('parseConfig validates %s: a bad value is CONFIG_INVALID naming it', (name) => {
    for (const bad of ['abc', '0', '-5', '1.5']) {
      const e = refusal({ [name]: bad });
      expect(e.variable).toBe(name);
      expect(e.code).toBe('CONFIG_INVALID');
      expect(e.message).toContain(name);
    }
  });

  it.each(VARIABLES.filter((v) => v.type === 'boolean').map((v) => v.name))(
    'parseConfig validates %s: only true or false',
    (name) => {
      const e = refusal({ [name]: 'maybe' });
      expect(e.variable).toBe(name);
      expect(e.message).toContain('must be "true" or "false"');
    },
  );

  it('applies every default from the list, as if it had been set (blank counts as unset)', () => {
    const unset = parseConfig({ JWT_SECRET: SECRET });
    const blank = parseConfig({
      JWT_SECRET: SECRET,
      ...Object.fromEntries(CONFIG_VARS.filter((n) => n !== 'JWT_SECRET').map((n) => [n, '  '])),
    });
    const explicit = parseConfig({
      JWT_SECRET: SECRET,
      ...Object.fromEntries(VARIABLES.flatMap((v) => (v.default === null ? [] : [[v.name, v.default]]))),
    });
    expect(blank).toEqual(unset);
    expect(explicit).toEqual(unset);
    expect(ttlSeconds('24h')).toBe(unset.jwt.maxTtlSeconds);
  });

  it('parses the tuning variables the Durable Objects and the Workflow class use', () => {
    const defaults = parseConfig({ JWT_SECRET: SECRET });
    expect(defaults.hubPingIntervalMs).toBe(15_000);
    expect(defaults.breaker).toEqual({
      failureThreshold: DEFAULT_FAILURE_THRESHOLD,
      cooldownMs: DEFAULT_COOLDOWN_MS,
    });
    expect(defaults.execution).toEqual({ cancelPollMs: 250, gatePollMs: 300_000, nudgeAfterMs: 60_000 });
    const tuned = parseConfig({
      JWT_SECRET: SECRET,
      HUB_PING_INTERVAL_MS: '300',
      BREAKER_FAILURE_THRESHOLD: '3',
      BREAKER_COOLDOWN_MS: '1000',
      EXECUTION_CANCEL_POLL_MS: '50',
      EXECUTION_GATE_POLL_MS: '60000',
      EXECUTION_NUDGE_AFTER_MS: '1000',
    });
    expect(tuned.hubPingIntervalMs).toBe(300);
    expect(tuned.breaker).toEqual({ failureThreshold: 3, cooldownMs: 1000 });
    expect(tuned.execution).toEqual({ cancelPollMs: 50, gatePollMs: 60_000, nudgeAfterMs: 1000 });
  });
});

describe('loadConfig', () => {
  it('parses once per set of values, whatever object carries them, and ignores other bindings', () => {
    const vars = { JWT_SECRET: SECRET, HUB_PING_INTERVAL_MS: '1234' };
    const first = loadConfig({ ...vars, DB: {} });
    expect(loadConfig({ ...vars, OTHER: 'x' })).toBe(first);
    expect(first.hubPingIntervalMs).toBe(1234);
    const other = loadConfig({ ...vars, HUB_PING_INTERVAL_MS: '999' });
    expect(other).not.toBe(first);
    expect(other.hubPingIntervalMs).toBe(999);
  });

  it('throws the ConfigError each time for an invalid set (nothing cached)', () => {
    const env = { JWT_SECRET: SECRET, BREAKER_COOLDOWN_MS: 'soon' };
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(/BREAKER_COOLDOWN_MS must be a positive integer/);
  });
});

describe('configVars', () => {
  it('keeps the variables of an environment and nothing else', () => {
    expect(configVars({ JWT_SECRET: SECRET, PATH: '/bin', DB: {}, PORT: 5 })).toEqual({ JWT_SECRET: SECRET });
  });
});

describe('the Node runtime', () => {
  const supply = {
    jwtSecret: () => 'from-dev-vars'.repeat(3),
    secretsKey: () => KEY,
    auditSigningKey: () => TEST_AUDIT_SIGNING_KEY,
  };

  it('takes the keys from .dev.vars in development when the environment names none', () => {
    const { vars, supplied } = withDevelopmentKeys({ PATH: '/bin' }, supply);
    expect(supplied).toEqual(['JWT_SECRET', 'SECRETS_KEY', 'AUDIT_SIGNING_KEY']);
    expect(parseConfig(vars).jwt.secret).toBe('from-dev-vars'.repeat(3));
    expect(parseConfig(vars).auditDigests.signingKey?.kid).toBe('test-2026-12');
    expect(vars).not.toHaveProperty('PATH');
  });

  it.each<[string, Partial<Record<VariableName, string>>, string[]]>([
    ['a JWT_SECRET', { JWT_SECRET: SECRET }, []],
    ['a JWKS URL', { JWT_JWKS_URL: 'https://idp.example/jwks' }, []],
    ['staging', { ENVIRONMENT: 'staging' }, []],
    ['a SECRETS_KEY only', { SECRETS_KEY: KEY }, ['JWT_SECRET', 'AUDIT_SIGNING_KEY']],
    ['an AUDIT_SIGNING_KEY', { AUDIT_SIGNING_KEY: TEST_AUDIT_SIGNING_KEY }, ['JWT_SECRET', 'SECRETS_KEY']],
  ])('with %s supplies %j', (_label, env, expected) => {
    expect(withDevelopmentKeys(env, supply).supplied).toEqual(expected);
  });

  it('reads CHANGEFLOW_* through the list, with its defaults', () => {
    expect(nodeServerVars({})).toEqual({
      db: undefined,
      port: '8788',
      host: '127.0.0.1',
      trustProxy: undefined,
    });
    expect(
      nodeServerVars({
        CHANGEFLOW_DB: 'x.sqlite',
        CHANGEFLOW_PORT: '0',
        CHANGEFLOW_HOST: '0.0.0.0',
        CHANGEFLOW_TRUST_PROXY: 'cf',
      }),
    ).toEqual({ db: 'x.sqlite', port: '0', host: '0.0.0.0', trustProxy: 'cf' });
  });
});

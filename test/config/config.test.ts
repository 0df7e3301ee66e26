import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config';

const SECRET = 'x'.repeat(32);

describe('parseConfig', () => {
  it('applies the documented defaults in development', () => {
    const c = parseConfig({ JWT_SECRET: SECRET });
    expect(c).toMatchObject({
      environment: 'development',
      corsOrigins: ['*'],
      rateLimitPerMinute: 1000,
      rateLimitBurstPerSecond: 50,
      jwt: { secret: SECRET, jwksUrl: null, issuer: null, audience: null, maxTtlSeconds: 86400 },
      publicOrigin: null,
    });
  });

  it('reads exact CORS origins and numeric limits', () => {
    const c = parseConfig({
      ENVIRONMENT: 'production',
      JWT_SECRET: SECRET,
      JWT_AUDIENCE: 'changeflow',
      CORS_ORIGINS: 'https://app.example.com, https://ops.example.com',
      RATE_LIMIT_PER_MINUTE: '600',
    });
    expect(c.corsOrigins).toEqual(['https://app.example.com', 'https://ops.example.com']);
    expect(c.rateLimitPerMinute).toBe(600);
  });

  it('has no CORS origin by default outside development', () => {
    expect(
      parseConfig({ ENVIRONMENT: 'staging', JWT_SECRET: SECRET, JWT_AUDIENCE: 'changeflow' }).corsOrigins,
    ).toEqual([]);
  });

  it.each([
    [{ ENVIRONMENT: 'prod', JWT_SECRET: SECRET }, 'ENVIRONMENT'],
    [{}, 'JWT_SECRET'],
    [{ JWT_SECRET: 'short' }, 'JWT_SECRET'],
    [{ JWT_JWKS_URL: 'not a url' }, 'JWT_JWKS_URL'],
    [{ JWT_SECRET: SECRET, CORS_ORIGINS: 'app.example.com' }, 'CORS_ORIGINS'],
    [{ ENVIRONMENT: 'production', JWT_SECRET: SECRET, CORS_ORIGINS: '*' }, 'CORS_ORIGINS'],
    [{ JWT_SECRET: SECRET, RATE_LIMIT_PER_MINUTE: '0' }, 'RATE_LIMIT_PER_MINUTE'],
    [{ JWT_SECRET: SECRET, RATE_LIMIT_BURST_PER_SECOND: 'lots' }, 'RATE_LIMIT_BURST_PER_SECOND'],
    [{ JWT_SECRET: SECRET, JWT_MAX_TTL: 'a week' }, 'JWT_MAX_TTL'],
    [{ JWT_SECRET: SECRET, JWT_MAX_TTL: '0' }, 'JWT_MAX_TTL'],
    [{ JWT_SECRET: SECRET, PUBLIC_URL: 'changeflow.example.com' }, 'PUBLIC_URL'],
  ])('refuses %j naming %s', (vars, variable) => {
    let error: unknown;
    try {
      parseConfig(vars);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as ConfigError).message).toContain(variable);
  });

  it('reads JWT_MAX_TTL in seconds or with a unit, and PUBLIC_URL as an origin', () => {
    expect(parseConfig({ JWT_SECRET: SECRET, JWT_MAX_TTL: '3600' }).jwt.maxTtlSeconds).toBe(3600);
    expect(parseConfig({ JWT_SECRET: SECRET, JWT_MAX_TTL: '90m' }).jwt.maxTtlSeconds).toBe(5400);
    expect(parseConfig({ JWT_SECRET: SECRET, JWT_MAX_TTL: '7d' }).jwt.maxTtlSeconds).toBe(7 * 86400);
    expect(
      parseConfig({ JWT_SECRET: SECRET, PUBLIC_URL: 'https://changeflow.example.com/base/' }).publicOrigin,
    ).toBe('https://changeflow.example.com');
  });

  describe('outside development, tokens must name this deployment', () => {
    const refusal = (vars: Record<string, string>) => {
      try {
        parseConfig(vars);
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected a ConfigError');
    };

    it.each(['staging', 'production'])('%s without JWT_AUDIENCE is invalid, naming it', (environment) => {
      const e = refusal({ ENVIRONMENT: environment, JWT_SECRET: SECRET });
      expect(e).toBeInstanceOf(ConfigError);
      expect(e.variables).toEqual(['JWT_AUDIENCE']);
      expect(e.message).toMatch(/JWT_AUDIENCE must be set in/);
      expect(e.message).toContain(environment);
    });

    it('with JWKS, JWT_ISSUER is required too: both are named', () => {
      const jwks = { ENVIRONMENT: 'production', JWT_JWKS_URL: 'https://idp.example/jwks.json' };
      const both = refusal(jwks);
      expect(both.variables).toEqual(['JWT_AUDIENCE', 'JWT_ISSUER']);
      expect(both.message).toMatch(/JWT_AUDIENCE and JWT_ISSUER must be set in production/);
      expect(refusal({ ...jwks, JWT_AUDIENCE: 'changeflow' }).variables).toEqual(['JWT_ISSUER']);
      expect(
        parseConfig({ ...jwks, JWT_AUDIENCE: 'changeflow', JWT_ISSUER: 'https://idp.example/' }).jwt,
      ).toMatchObject({ audience: 'changeflow', issuer: 'https://idp.example/' });
    });

    it('development needs neither', () => {
      expect(parseConfig({ JWT_JWKS_URL: 'https://idp.example/jwks.json' }).jwt.audience).toBeNull();
    });
  });

  describe('WebSocket session limits', () => {
    it('20 subscriptions per socket, 10 sockets per caller, API keys re-checked every 5 s by default', () => {
      expect(parseConfig({ JWT_SECRET: SECRET }).sessions).toEqual({
        maxSubscriptionsPerSocket: 20,
        maxSocketsPerCaller: 10,
        recheckMs: 5000,
      });
      const c = parseConfig({
        JWT_SECRET: SECRET,
        WS_MAX_SUBSCRIPTIONS_PER_SOCKET: '5',
        WS_MAX_SOCKETS_PER_CALLER: '2',
        WS_CREDENTIAL_RECHECK_MS: '1000',
      });
      expect(c.sessions).toEqual({ maxSubscriptionsPerSocket: 5, maxSocketsPerCaller: 2, recheckMs: 1000 });
    });

    it('refuses a re-check slower than 5 s, and non-positive limits, naming the variable', () => {
      expect(() => parseConfig({ JWT_SECRET: SECRET, WS_CREDENTIAL_RECHECK_MS: '60000' })).toThrow(
        /WS_CREDENTIAL_RECHECK_MS must be at most 5000/,
      );
      expect(() => parseConfig({ JWT_SECRET: SECRET, WS_MAX_SOCKETS_PER_CALLER: '0' })).toThrow(ConfigError);
      expect(() => parseConfig({ JWT_SECRET: SECRET, WS_MAX_SUBSCRIPTIONS_PER_SOCKET: 'many' })).toThrow(
        /WS_MAX_SUBSCRIPTIONS_PER_SOCKET/,
      );
    });
  });

  describe('JWT_SECRET_PREVIOUS', () => {
    const OLD = 'o'.repeat(40);
    it('is read beside JWT_SECRET, and is null when unset', () => {
      expect(parseConfig({ JWT_SECRET: SECRET }).jwt.previousSecret).toBeNull();
      expect(parseConfig({ JWT_SECRET: SECRET, JWT_SECRET_PREVIOUS: OLD }).jwt.previousSecret).toBe(OLD);
    });
    it.each([
      [
        'without JWT_SECRET',
        { JWT_JWKS_URL: 'https://idp.example/jwks.json', JWT_SECRET_PREVIOUS: OLD },
        /without JWT_SECRET/,
      ],
      [
        'shorter than 32 characters',
        { JWT_SECRET: SECRET, JWT_SECRET_PREVIOUS: 'short-old-secret' },
        /32 characters/,
      ],
      ['equal to JWT_SECRET', { JWT_SECRET: SECRET, JWT_SECRET_PREVIOUS: SECRET }, /differ/],
    ])('is refused %s, naming it and never repeating it', (_l, vars, why) => {
      let error: unknown;
      try {
        parseConfig(vars);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).variable).toBe('JWT_SECRET_PREVIOUS');
      expect((error as ConfigError).message).toMatch(why);
      expect((error as ConfigError).message).not.toContain(vars.JWT_SECRET_PREVIOUS);
    });
  });

  describe('METRICS_TOKEN', () => {
    it('is read when set, null when unset or blank', () => {
      const scraper = 's'.repeat(32);
      expect(parseConfig({ JWT_SECRET: SECRET }).metricsToken).toBeNull();
      expect(parseConfig({ JWT_SECRET: SECRET, METRICS_TOKEN: '  ' }).metricsToken).toBeNull();
      expect(parseConfig({ JWT_SECRET: SECRET, METRICS_TOKEN: scraper }).metricsToken).toBe(scraper);
    });
    it.each([
      ['shorter than 32 characters', 'guessable-token', /32 characters/],
      // A bearer token cannot carry a space: such a token could never be sent.
      ['with a space', 'a scraper token with spaces in it, 40 chars', /without spaces/],
      ['with a control character', `${'t'.repeat(32)}\u0000`, /printable ASCII/],
    ])('is refused %s, naming it and never repeating it', (_l, value, why) => {
      let error: unknown;
      try {
        parseConfig({ JWT_SECRET: SECRET, METRICS_TOKEN: value });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).variable).toBe('METRICS_TOKEN');
      expect((error as ConfigError).message).toMatch(why);
      expect((error as ConfigError).message).not.toContain(value);
    });
  });

  describe('SECRETS_KEY and SECRETS_KEY_PREVIOUS', () => {
    const KEY = btoa(String.fromCharCode(...new Uint8Array(32).map((_, i) => i + 1)));
    const OTHER = btoa(String.fromCharCode(...new Uint8Array(32).map((_, i) => 200 - i)));

    it('reads 32-byte base64 keys, and none at all (secrets then cannot be saved)', () => {
      expect(parseConfig({ JWT_SECRET: SECRET }).secretKeys).toBeNull();
      const c = parseConfig({ JWT_SECRET: SECRET, SECRETS_KEY: KEY, SECRETS_KEY_PREVIOUS: OTHER });
      expect(c.secretKeys?.current.raw).toHaveLength(32);
      expect(c.secretKeys?.previous?.raw[0]).toBe(200);
    });

    it.each([
      ['a short key', { SECRETS_KEY: btoa('only sixteen b!!') }, 'SECRETS_KEY', /16 bytes/],
      ['a key that is not base64', { SECRETS_KEY: `${'#'.repeat(43)}=` }, 'SECRETS_KEY', /not base64/],
      ['a hex key', { SECRETS_KEY: 'ab'.repeat(32) }, 'SECRETS_KEY', /48 bytes/],
      [
        'a previous key without a current one',
        { SECRETS_KEY_PREVIOUS: KEY },
        'SECRETS_KEY_PREVIOUS',
        /without/,
      ],
      [
        'a previous key equal to the current one',
        { SECRETS_KEY: KEY, SECRETS_KEY_PREVIOUS: KEY },
        'SECRETS_KEY_PREVIOUS',
        /same key/,
      ],
      [
        'a bad previous key',
        { SECRETS_KEY: KEY, SECRETS_KEY_PREVIOUS: 'c2hvcnQ=' },
        'SECRETS_KEY_PREVIOUS',
        /5 bytes/,
      ],
    ])('refuses %s with a ConfigError that names it and never repeats the key', (_l, vars, variable, why) => {
      let error: unknown;
      try {
        parseConfig({ JWT_SECRET: SECRET, ...vars });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).variable).toBe(variable);
      expect((error as ConfigError).message).toMatch(why);
      for (const value of Object.values(vars)) expect((error as ConfigError).message).not.toContain(value);
    });
  });

  describe('egress exceptions for workflow HTTP steps', () => {
    // Outside development a token binding is required (JWT_AUDIENCE); it is not what these test.
    const AUD = 'changeflow';
    it('none by default, in every environment', () => {
      for (const ENVIRONMENT of ['development', 'staging', 'production']) {
        expect(parseConfig({ ENVIRONMENT, JWT_SECRET: SECRET, JWT_AUDIENCE: AUD }).egress).toEqual({
          allowPrivate: false,
          allowPrivateHosts: [],
        });
      }
    });

    it('EGRESS_ALLOW_PRIVATE=true only in development', () => {
      expect(parseConfig({ JWT_SECRET: SECRET, EGRESS_ALLOW_PRIVATE: 'true' }).egress.allowPrivate).toBe(
        true,
      );
      for (const ENVIRONMENT of ['staging', 'production']) {
        let error: unknown;
        try {
          parseConfig({ ENVIRONMENT, JWT_SECRET: SECRET, JWT_AUDIENCE: AUD, EGRESS_ALLOW_PRIVATE: 'TRUE' });
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as ConfigError).variable).toBe('EGRESS_ALLOW_PRIVATE');
        expect((error as ConfigError).message).toContain(
          `only be "true" in development (ENVIRONMENT is ${ENVIRONMENT})`,
        );
        expect(
          parseConfig({ ENVIRONMENT, JWT_SECRET: SECRET, JWT_AUDIENCE: AUD, EGRESS_ALLOW_PRIVATE: 'false' })
            .egress.allowPrivate,
        ).toBe(false);
      }
      expect(() => parseConfig({ JWT_SECRET: SECRET, EGRESS_ALLOW_PRIVATE: 'yes' })).toThrow(
        /EGRESS_ALLOW_PRIVATE/,
      );
    });

    it('EGRESS_ALLOW_PRIVATE_HOSTS: exact hosts, valid in any environment, normalised', () => {
      const c = parseConfig({
        ENVIRONMENT: 'production',
        JWT_SECRET: SECRET,
        JWT_AUDIENCE: AUD,
        EGRESS_ALLOW_PRIVATE_HOSTS: ' Billing.Internal ,10.0.0.7,[fd00::7], billing.internal,',
      });
      expect(c.egress).toEqual({
        allowPrivate: false,
        allowPrivateHosts: ['billing.internal', '10.0.0.7', '[fd00::7]'],
      });
    });

    it.each(['*.internal', 'http://10.0.0.7', '10.0.0.7:8080', '0x7f000001', 'a b'])(
      'refuses EGRESS_ALLOW_PRIVATE_HOSTS entry %j',
      (entry) => {
        expect(() =>
          parseConfig({ JWT_SECRET: SECRET, EGRESS_ALLOW_PRIVATE_HOSTS: `ok.internal,${entry}` }),
        ).toThrow(/EGRESS_ALLOW_PRIVATE_HOSTS must be a comma-separated list of exact hosts/);
      },
    );
  });
});

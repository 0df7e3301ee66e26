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
      jwt: { secret: SECRET, jwksUrl: null, issuer: null, audience: null },
    });
  });

  it('reads exact CORS origins and numeric limits', () => {
    const c = parseConfig({
      ENVIRONMENT: 'production',
      JWT_SECRET: SECRET,
      CORS_ORIGINS: 'https://app.example.com, https://ops.example.com',
      RATE_LIMIT_PER_MINUTE: '600',
    });
    expect(c.corsOrigins).toEqual(['https://app.example.com', 'https://ops.example.com']);
    expect(c.rateLimitPerMinute).toBe(600);
  });

  it('has no CORS origin by default outside development', () => {
    expect(parseConfig({ ENVIRONMENT: 'staging', JWT_SECRET: SECRET }).corsOrigins).toEqual([]);
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
});

import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

export const TEST_JWT_SECRET = 'test-secret-for-vitest-only-0123456789abcdef';
/** The workflow secrets' keys (32 bytes each, base64): the current one and the one it replaced. */
export const TEST_SECRETS_KEY = 'dGVzdC1zZWNyZXRzLWtleS1jdXJyZW50LTAxMjM0NTY=';
export const TEST_SECRETS_KEY_PREVIOUS = 'dGVzdC1zZWNyZXRzLWtleS1wcmV2aW91cy0wMTIzNDU=';

/**
 * The audit signing keys (Ed25519 JWKs): the current one signs; the previous one's public half is
 * still published (AUDIT_PUBLIC_KEYS), so that what it signed keeps verifying (rotation tests).
 */
export const TEST_AUDIT_SIGNING_KEY =
  '{"kty":"OKP","crv":"Ed25519","d":"NAcae8juoAiy2N7x_02oYd0OPv2E7h1Moypb-Ays6fU","x":"7llLyBR13_ESusoZk0o5KjRCZJm2e9hYX77MNGh5Fw4","kid":"test-2026-12"}';
export const TEST_AUDIT_SIGNING_KEY_PREVIOUS =
  '{"kty":"OKP","crv":"Ed25519","d":"w4CQdSr16n24fOJUwtrWOLz-SKrgKiurH0EEtwrpr8E","x":"pxhWZRhNJhod38h8mlswlJ34WcodC_EL6c3_TBcdXHQ","kid":"test-2026-06"}';

export default defineConfig(async () => {
  const migrations = await readD1Migrations('migrations');
  return {
    plugins: [
      cloudflareTest({
        main: './src/runtime/worker/index.ts',
        wrangler: { configPath: './wrangler.toml' },
        miniflare: {
          // An empty database for migration tests: migrations applied one by one onto rows in an older shape.
          d1Databases: ['MIGRATION_DB'],
          bindings: {
            TEST_MIGRATIONS: migrations,
            // wrangler.toml's top level is production (safe to deploy); the tests run as development.
            ENVIRONMENT: 'development',
            JWT_SECRET: TEST_JWT_SECRET,
            // Fast hub pings, so that a client that never answers is dropped within a test.
            HUB_PING_INTERVAL_MS: '300',
            // Workflow engine: a breaker that opens after 3 failures and half-opens after 1 s, cancels
            // noticed within 50 ms; gates are woken by decisions, so their fallback poll is long.
            BREAKER_FAILURE_THRESHOLD: '3',
            BREAKER_COOLDOWN_MS: '1000',
            EXECUTION_CANCEL_POLL_MS: '50',
            EXECUTION_GATE_POLL_MS: '60000',
            // Workflow secrets are set per tenant with setWorkflowSecret (test/helpers/secrets.ts);
            // these keys seal them, and the previous one still opens what it sealed (rotation tests).
            SECRETS_KEY: TEST_SECRETS_KEY,
            SECRETS_KEY_PREVIOUS: TEST_SECRETS_KEY_PREVIOUS,
            // Audit digests (wrangler.toml turns them on; the R2 bucket AUDIT_ARCHIVE is simulated).
            AUDIT_SIGNING_KEY: TEST_AUDIT_SIGNING_KEY,
            AUDIT_PUBLIC_KEYS: JSON.stringify([
              (({ d: _d, ...pub }) => pub)(JSON.parse(TEST_AUDIT_SIGNING_KEY_PREVIOUS)),
            ]),
            // The loopback upstream (test/upstream/) is reached as exactly this host: every other
            // private, loopback or metadata form (localhost, 0x7f000001, [::1], …) stays refused.
            EGRESS_ALLOW_PRIVATE_HOSTS: '127.0.0.1',
            // Generous limits so that feature tests never trip them; rate-limit tests set their own.
            RATE_LIMIT_PER_MINUTE: '1000000',
            RATE_LIMIT_BURST_PER_SECOND: '100000',
            RATE_LIMIT_PER_IP_PER_MINUTE: '1000000',
            RATE_LIMIT_TIERS: JSON.stringify({
              anonymous: { perMinute: 1000000, burstPerSecond: 100000 },
              mcpRead: { perMinute: 1000000, burstPerSecond: 100000 },
              mcpWrite: { perMinute: 1000000, burstPerSecond: 100000 },
            }),
          },
        },
      }),
    ],
    test: {
      include: ['test/**/*.test.ts'],
      setupFiles: ['./test/setup.ts'],
      globalSetup: ['./test/globalSetup.ts'],
      // Request logs are noise unless a test fails.
      silent: 'passed-only' as const,
      // End-to-end tests drive many requests (and workflow executions) through workerd; on a
      // shared 2-core machine the default 5 s is a coin toss. No test asserts on time.
      testTimeout: 30_000,
      // Pre-bundling the big libraries once roughly halves each test file's start-up in the pool.
      deps: {
        optimizer: {
          ssr: {
            enabled: true,
            include: [
              'graphql',
              'graphql-yoga',
              '@pothos/core',
              '@pothos/plugin-scope-auth',
              '@pothos/plugin-zod',
              'zod',
              'jose',
              'dataloader',
              '@modelcontextprotocol/server',
              '@modelcontextprotocol/client',
              '@cfworker/json-schema',
            ],
          },
        },
      },
    },
  };
});

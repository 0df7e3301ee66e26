import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

export const TEST_JWT_SECRET = 'test-secret-for-vitest-only-0123456789abcdef';

export default defineConfig(async () => {
  const migrations = await readD1Migrations('migrations');
  return {
    plugins: [
      cloudflareTest({
        main: './src/worker.ts',
        wrangler: { configPath: './wrangler.toml' },
        miniflare: {
          bindings: { TEST_MIGRATIONS: migrations, JWT_SECRET: TEST_JWT_SECRET },
        },
      }),
    ],
    test: {
      include: ['test/**/*.test.ts'],
      setupFiles: ['./test/setup.ts'],
      // Request logs are noise unless a test fails.
      silent: 'passed-only' as const,
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
              '@modelcontextprotocol/sdk/server/index.js',
              '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js',
              '@modelcontextprotocol/sdk/types.js',
              '@modelcontextprotocol/sdk/client/index.js',
              '@modelcontextprotocol/sdk/client/streamableHttp.js',
              '@modelcontextprotocol/sdk/validation/cfworker',
              '@cfworker/json-schema',
            ],
          },
        },
      },
    },
  };
});

import { defineConfig } from 'vitest/config';

const shared = { testTimeout: 60_000, hookTimeout: 120_000 };

/**
 * Workspace packages resolve to their TypeScript sources, not their built dist/ (see
 * packages/): their export condition, ahead of vitest's own default server conditions.
 */
const ssr = {
  resolve: { conditions: ['@effectively-once/source', 'node', 'development|production'] },
};

export default defineConfig({
  test: {
    // Two cores: more workers than that only slows the integration tests down.
    maxWorkers: 2,
    projects: [
      // Pure logic and CDK templates: no services.
      {
        ssr,
        test: {
          ...shared,
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/cdk/**/*.test.ts'],
        },
      },
      // Real PostgreSQL (embedded, or DATABASE_URL), real processes, real HTTP on loopback.
      {
        ssr,
        test: {
          ...shared,
          name: 'integration',
          sequence: { groupOrder: 0 },
          include: ['test/integration/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
          exclude: [
            'test/integration/backlog.test.ts',
            'test/integration/relay-lease-backlog.test.ts',
            'test/integration/bench-smoke.test.ts',
          ],
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
      // Rate measurements: run alone, after everything else, so other tests' CPU use does
      // not show up as consumer stalls and catch-up bursts.
      {
        ssr,
        test: {
          ...shared,
          name: 'load',
          include: [
            'test/integration/backlog.test.ts',
            'test/integration/relay-lease-backlog.test.ts',
            'test/integration/bench-smoke.test.ts',
          ],
          globalSetup: ['test/support/global-setup.ts'],
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});

import type { Config } from 'jest';

/**
 * One jest run for every package. Tests live in `packages/<name>/test/` and import other packages by
 * name; the mapper points those names at their TypeScript sources, so `npm test` needs no build for
 * unit tests (end-to-end tests run the built `berth` command, which `npm test` builds first).
 */
const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages'],
  testMatch: ['**/test/**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json', isolatedModules: true }],
  },
  moduleNameMapper: {
    '^@berth/storage-driver/testing$': '<rootDir>/packages/storage-driver/src/testing/index.ts',
    '^@berth/([a-z0-9-]+)$': '<rootDir>/packages/$1/src/index.ts',
  },
  globalSetup: '<rootDir>/test-support/global-setup.ts',
  globalTeardown: '<rootDir>/test-support/global-teardown.ts',
  testTimeout: 120_000,
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/test-support/summary-reporter.js'],
  verbose: false,
};

export default config;

// Native-ESM jest (run with NODE_OPTIONS=--experimental-vm-modules): ts-jest with useESM, and the
// `.js` suffix of relative imports mapped back to the .ts source. In ESM mode jest.mock does not
// apply, which is why tests inject fakes (test/helpers/fake-runtime.ts) instead of mocking modules.
const common = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  // tsconfig's isolatedModules makes ts-jest transpile only; `npm run typecheck` checks types once.
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.test.json' }] },
};

export default {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
    // The e2e suites share one lab, brought up once before them (test/helpers/lab.ts).
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
      globalSetup: '<rootDir>/test/helpers/lab-global-setup.mjs',
    },
  ],
  // Lab commands (puppet config print, JVM reloads) take seconds on a busy 2-core machine.
  testTimeout: 180_000,
  // Tears the shared lab down at the end of any run that started it; lab.test.ts runs last.
  globalTeardown: '<rootDir>/test/helpers/lab-global-teardown.mjs',
  testSequencer: '<rootDir>/test/helpers/lab-test-sequencer.mjs',
};

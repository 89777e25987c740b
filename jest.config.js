/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Suites against real counterparts (test/real) and the deploy rehearsal have their own commands.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/real/', '<rootDir>/test/rehearsal/'],
  // @swc/jest only strips types (fast, low memory); `tsc --noEmit` type-checks separately.
  transform: {
    '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }],
  },
  // Middy 5+ is ESM-only, so it has to be transformed too.
  transformIgnorePatterns: ['/node_modules/(?!(@middy)/)'],
  setupFiles: ['<rootDir>/test/support/polyfills.ts'],
  testTimeout: 60_000,
  maxWorkers: 2,
};

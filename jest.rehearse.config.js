/**
 * `npm run rehearse`: the deploy rehearsal (test/rehearsal). The stack is synthesized with
 * every function bundled, then run as synthesized against the sandbox's simulators, each
 * AWS call decided against the caller's role in the template. Kept out of `npm test`:
 * synthesis alone takes about a minute.
 * @type {import('jest').Config}
 */
const base = require('./jest.config.js');

module.exports = {
  ...base,
  roots: ['<rootDir>/test/rehearsal'],
  testPathIgnorePatterns: ['/node_modules/'],
  // One rehearsal (one synthesis, one sandbox) shared by its scenarios.
  maxWorkers: 1,
  testTimeout: 300_000,
};

/**
 * `npm run test:real`: suites that run offsite against real third-party counterparts
 * started on 127.0.0.1 (a real NetBox with the Proxbox plugin from ../shared/netbox-kit,
 * moto's S3 server that enforces Object Lock, the AWS CLI as a client). Kept out of
 * `npm test`, which needs none of them.
 * @type {import('jest').Config}
 */
const base = require('./jest.config.js');

module.exports = {
  ...base,
  roots: ['<rootDir>/test/real'],
  testPathIgnorePatterns: ['/node_modules/'],
  // The counterparts are slow to start and share two cores: one suite at a time.
  maxWorkers: 1,
  testTimeout: 180_000,
};

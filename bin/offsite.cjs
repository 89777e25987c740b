#!/usr/bin/env node
// The `offsite` command of the package: runs the TypeScript CLI through tsx, as `npm run offsite` does.
require('tsx/cjs');
require('./offsite.ts');

import { resolve } from 'node:path';

/** The repository root: ASL files and handler entries in the catalog are relative to it. */
export const REPO_ROOT = resolve(__dirname, '..', '..');

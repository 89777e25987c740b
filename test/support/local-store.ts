// A local S3 store (bin/sandbox/local-s3.ts) for one test file or describe block: started
// in a temporary directory before its tests, stopped and removed after them.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { localS3Client, startLocalS3, type LocalS3 } from '../../bin/sandbox/local-s3';

export interface SuiteStore {
  /** Where the store keeps its buckets. */
  readonly directory: string;
  readonly store: LocalS3;
  /** A client of the store (path-style, checksums only when required). */
  readonly s3: S3Client;
}

/** Registers the store's beforeAll and afterAll; its fields can be read from the tests on. */
export function localStoreForSuite(directoryPrefix: string, buckets: readonly string[]): SuiteStore {
  let started: SuiteStore | undefined;
  beforeAll(async () => {
    const directory = await mkdtemp(join(tmpdir(), directoryPrefix));
    const store = await startLocalS3({ directory, buckets: [...buckets] });
    started = { directory, store, s3: localS3Client(store) };
  });
  afterAll(async () => {
    if (!started) return;
    started.s3.destroy();
    await started.store.stop();
    await rm(started.directory, { recursive: true, force: true });
  });
  const current = (): SuiteStore => {
    if (!started) throw new Error('The local store starts in beforeAll: read it from a test, not while the file loads.');
    return started;
  };
  return {
    get directory() {
      return current().directory;
    },
    get store() {
      return current().store;
    },
    get s3() {
      return current().s3;
    },
  };
}

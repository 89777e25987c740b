// Child process: planning the retention of 10,000 archived copies (the pure part of
// PruneArchive: PBS's rules over the manifests, periods in a DST time zone), measured for
// time and peak memory, next to the floor any planner pays — sorting the same copies by
// time — timed in the same process on the same data.
import type { ArchivedCopy } from '../../functions/archive/listing';
import { archiveKeyFor, manifestKeyFor } from '../../functions/archive/manifest';
import { planArchivePrune } from '../../functions/archive/prune';
import { measureAndReply, receiveJob, startRssSampler, type MemoryFigures } from './bench-child';

export interface PruneRunJob {
  readonly copies: number;
}
export interface PruneRunResult {
  readonly type: 'result';
  readonly ok: boolean;
  readonly error?: string;
  readonly elapsedMs: number;
  readonly memory: MemoryFigures;
  readonly sortMs: number;
  readonly kept: number;
  readonly removed: number;
}

const POLICY = { keepLast: 3, keepHourly: 24, keepDaily: 7, keepWeekly: 4, keepMonthly: 12, keepYearly: 5 };
const TIMEZONE = 'Europe/Berlin';
const HOUR_MS = 3_600_000;

/** One copy an hour, newest first from a fixed moment: 10,000 copies span about 14 months and two DST changes. */
function generatedCopies(count: number): ArchivedCopy[] {
  const newest = Date.parse('2026-11-30T23:00:00Z');
  return Array.from({ length: count }, (_, index) => {
    const createdAt = new Date(newest - index * HOUR_MS).toISOString();
    const objectKey = archiveKeyFor('bench/', 'prune-bench', createdAt, `b-${index}`, '.tar.gz');
    return {
      manifestKey: manifestKeyFor(objectKey),
      objectMatchesManifest: true,
      manifest: {
        formatVersion: 1,
        target: 'prune-bench',
        kind: 'netbox-cloud',
        sourceBackupId: `b-${index}`,
        objectKey,
        sizeBytes: 1024,
        sha256: '0'.repeat(64),
        sourceChecksum: null,
        sourceChecksumAlgorithm: null,
        sourceChecksumVerified: false,
        sourceSizeBytes: null,
        createdAt,
        copiedAt: createdAt,
        contentType: 'application/gzip',
        source: {},
      },
    };
  });
}

async function main(): Promise<void> {
  const sampler = startRssSampler(10);
  const job = await receiveJob<PruneRunJob>();
  const copies = generatedCopies(job.copies).reverse();
  await measureAndReply<PruneRunResult>(
    sampler,
    () => {
      const planned = planArchivePrune(copies, new Map(), { policy: POLICY, timezone: TIMEZONE, objectLock: false, now: new Date() });
      const sortStarted = performance.now();
      [...copies].sort((a, b) => Date.parse(b.manifest.createdAt) - Date.parse(a.manifest.createdAt));
      const sortMs = performance.now() - sortStarted;
      return Promise.resolve({
        sortMs,
        kept: planned.filter((copy) => copy.decision === 'keep').length,
        removed: planned.filter((copy) => copy.decision === 'remove').length,
      });
    },
    () => undefined,
  );
}

void main();

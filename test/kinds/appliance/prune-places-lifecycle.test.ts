import { SANDBOX_APPLIANCE_TARGET } from '../../../bin/sandbox/appliance/sandbox-round';
import { manifestKeyFor } from '../../../functions/archive/manifest';
import { listKeys, SANDBOX_BUCKET, startHarness, type Harness } from '../../support/harness';
import { copyToSecondaryForTest, startSecondaryStore, type PlaceAt, type SecondaryStore } from '../../support/secondary-copy';

interface BackupOutput {
  archive: { objectKey: string };
  retention: {
    kept: { count: number; copies: { objectKey: string }[] };
    removalFailed: { count: number };
    secondary?: { url: string; kept: { count: number; copies: { objectKey: string }[] }; removed: { count: number } };
  };
}

/** backup_time has one-second resolution: make sure the next backup is not made in the same second. */
async function intoNextSecond(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 1001 - (Date.now() % 1000)));
}

const withManifests = (keys: readonly string[]): string[] => keys.flatMap((key) => [key, manifestKeyFor(key)]).sort();

describe('PruneArchive at the end of an appliance backup, with a secondary (real ASL, two local stores)', () => {
  let harness: Harness;
  let secondaryStore: SecondaryStore;

  afterEach(async () => {
    await Promise.all([harness.stop(), secondaryStore.stop()]);
  });

  test('leaves each place holding exactly the copies its retention keeps, and says so per place', async () => {
    // Prepare: keep-last 1; two earlier backups archived in both places.
    harness = await startHarness({ applianceTarget: { retention: { keepLast: 1 } } });
    secondaryStore = await startSecondaryStore(harness.sandbox.configPath, 'offsite-second-place', 'second/');
    const primary: PlaceAt = { s3: harness.s3, bucket: SANDBOX_BUCKET, prefix: harness.config.archive.prefix };
    const earlier: string[] = [];
    for (let backup = 0; backup < 2; backup += 1) {
      const outcome = await harness.run('appliance', 'backup', { target: SANDBOX_APPLIANCE_TARGET });
      if (!outcome.succeeded) throw new Error(`backup failed: ${outcome.error ?? ''} ${outcome.cause ?? ''}`);
      earlier.push(await copyToSecondaryForTest(primary, secondaryStore.place, (outcome.output as BackupOutput).archive.objectKey));
      await intoNextSecond();
    }

    // Act
    const outcome = await harness.run('appliance', 'backup', { target: SANDBOX_APPLIANCE_TARGET });

    // Assess
    expect(outcome).toMatchObject({ succeeded: true });
    expect(outcome.path).toContain('BackupArchived');
    const { archive, retention } = outcome.output as BackupOutput;
    expect(await listKeys(harness.s3, SANDBOX_BUCKET, `${primary.prefix}${SANDBOX_APPLIANCE_TARGET}/`)).toEqual(withManifests([archive.objectKey]));
    expect(retention.secondary).toMatchObject({ url: 's3://offsite-second-place/second/', kept: { count: 1 } });
    const keptThere = retention.secondary?.kept.copies.map((copy) => copy.objectKey) ?? [];
    expect(await listKeys(secondaryStore.place.s3, 'offsite-second-place', `second/${SANDBOX_APPLIANCE_TARGET}/`)).toEqual(withManifests(keptThere));
    expect(keptThere).not.toContain(earlier[0]);
    expect(retention.removalFailed.count).toBe(0);
  });
});

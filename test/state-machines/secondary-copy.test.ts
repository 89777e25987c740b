import { DeleteBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { SANDBOX_APPLIANCE_TARGET } from '../../bin/sandbox/appliance/sandbox-round';
import { backupCommand, type CliIo } from '../../bin/cli/commands';
import { SANDBOX_NETBOX_TARGET } from '../../bin/sandbox/netbox-cloud/sandbox-round';
import { SANDBOX_SECONDARY_BUCKET, SANDBOX_SECONDARY_PREFIX } from '../../bin/sandbox/sandbox';
import { manifestKeyFor } from '../../functions/archive/manifest';
import { NO_SECONDARY_REASON } from '../../functions/archive/secondary-copy';
import { listKeys, localS3Client, openMultipartUploads, readObject, SANDBOX_BUCKET, sha256, startHarness, type Harness } from '../support/harness';

interface BackupOutput {
  archive: { objectKey: string; manifestKey: string; sizeBytes: number; sha256: string };
  secondaryCopy: { secondary: { bucket: string; objectKey: string; manifestKey: string; sizeBytes: number; sha256: string; alreadyThere: boolean; url: string } | null; reason?: string };
}

/** The backups that archive a copy (their ASL has CopyToArchive and CopyToSecondary). */
const KINDS_WITH_COPIES = [
  { kind: 'netbox-cloud', target: SANDBOX_NETBOX_TARGET },
  { kind: 'appliance', target: SANDBOX_APPLIANCE_TARGET },
] as const;

describe('CopyToSecondary in the backup lifecycles (real ASL, two local stores)', () => {
  let harness: Harness;

  afterEach(async () => {
    await harness.stop();
  });

  function secondaryClient(): S3Client {
    const store = harness.sandbox.secondaryS3;
    if (!store) throw new Error('the harness was started without a secondary store');
    return localS3Client(store);
  }

  test.each(KINDS_WITH_COPIES)('$kind: a backup lands in both places: the same bytes, and the secondary manifest written after them', async ({ kind, target }) => {
    // Prepare
    harness = await startHarness();
    const secondary = secondaryClient();

    // Act
    const outcome = await harness.run(kind, 'backup', { target });

    // Assess
    expect(outcome).toMatchObject({ succeeded: true });
    const output = outcome.output as BackupOutput;
    expect(outcome.path.indexOf('CopyToSecondary')).toBe(outcome.path.indexOf('CopyToArchive') + 1);
    const secondaryKey = `${SANDBOX_SECONDARY_PREFIX}${output.archive.objectKey.slice(harness.config.archive.prefix.length)}`;
    expect(output.secondaryCopy.secondary).toEqual({
      bucket: SANDBOX_SECONDARY_BUCKET,
      objectKey: secondaryKey,
      manifestKey: manifestKeyFor(secondaryKey),
      sizeBytes: output.archive.sizeBytes,
      sha256: output.archive.sha256,
      alreadyThere: false,
      url: `s3://${SANDBOX_SECONDARY_BUCKET}/${secondaryKey}`,
    });
    const primaryBytes = await readObject(harness.s3, SANDBOX_BUCKET, output.archive.objectKey);
    const secondaryBytes = await readObject(secondary, SANDBOX_SECONDARY_BUCKET, secondaryKey);
    expect(sha256(secondaryBytes)).toBe(sha256(primaryBytes));
    const manifest = JSON.parse((await readObject(secondary, SANDBOX_SECONDARY_BUCKET, manifestKeyFor(secondaryKey))).toString('utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ objectKey: secondaryKey, sha256: output.archive.sha256, copiedFrom: { bucket: SANDBOX_BUCKET, objectKey: output.archive.objectKey } });
    expect(await openMultipartUploads(secondary, SANDBOX_SECONDARY_BUCKET)).toEqual([]);
  });

  test('without a secondary the step is skipped, says why, and the backup succeeds as before', async () => {
    // Prepare
    harness = await startHarness({ secondary: false });

    // Act
    const outcome = await harness.run('netbox-cloud', 'backup', { target: SANDBOX_NETBOX_TARGET });

    // Assess
    expect(outcome).toMatchObject({ succeeded: true });
    expect(harness.config.archive.secondary).toBeUndefined();
    expect((outcome.output as BackupOutput).secondaryCopy).toEqual({ secondary: null, reason: NO_SECONDARY_REASON });
  });

  test('a second copy that fails ends as SecondaryCopyFailed, saying the primary copy is archived and verified and the catch-up will copy it', async () => {
    // Prepare: the secondary bucket is gone (its store answers NoSuchBucket), so the copy cannot be made.
    harness = await startHarness();
    const secondary = secondaryClient();
    await secondary.send(new DeleteBucketCommand({ Bucket: SANDBOX_SECONDARY_BUCKET }));

    // Act
    const outcome = await harness.run('netbox-cloud', 'backup', { target: SANDBOX_NETBOX_TARGET });

    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error: 'SecondaryCopyFailed' });
    expect(outcome.path.slice(-3)).toEqual(['CopyToSecondary', 'DescribeSecondaryCopyFailure', 'SecondaryCopyFailed']);
    const primaryKeys = await listKeys(harness.s3, SANDBOX_BUCKET, `${harness.config.archive.prefix}${SANDBOX_NETBOX_TARGET}/`);
    const archived = primaryKeys.find((key) => !key.endsWith('.manifest.json'));
    expect(primaryKeys).toEqual([archived, `${archived ?? ''}.manifest.json`]);
    expect(outcome.cause).toContain(`The backup is archived and verified as ${archived ?? ''} in the primary. Copying it to the secondary failed`);
    expect(outcome.cause).toContain('the scheduled catch-up (CatchUpSecondary) copies it');
  });

  describe('offsite backup', () => {
    function captured(): { io: CliIo; out: string[]; err: string[] } {
      const out: string[] = [];
      const err: string[] = [];
      return { io: { out: (line) => out.push(line), err: (line) => err.push(line), errStream: process.stderr }, out, err };
    }

    test('prints one line for the second copy, and --json carries it as `secondary`', async () => {
      // Prepare
      harness = await startHarness();
      const text = captured();
      const json = captured();

      // Act
      const printed = await backupCommand(harness.config, SANDBOX_APPLIANCE_TARGET, text.io);
      const asJson = await backupCommand(harness.config, SANDBOX_APPLIANCE_TARGET, json.io, { json: true });

      // Assess
      expect([printed.exitCode, asJson.exitCode]).toEqual([0, 0]);
      const key = `${SANDBOX_SECONDARY_PREFIX}${(printed.archived?.objectKey ?? '').slice(harness.config.archive.prefix.length)}`;
      expect(text.out).toContain(`  second copy s3://${SANDBOX_SECONDARY_BUCKET}/${key} verified`);
      const document = JSON.parse(json.out.join('')) as { objectKey: string; secondary: { url: string; sha256: string; alreadyThere: boolean } };
      expect(document.secondary).toMatchObject({ url: `s3://${SANDBOX_SECONDARY_BUCKET}/${SANDBOX_SECONDARY_PREFIX}${document.objectKey.slice(harness.config.archive.prefix.length)}`, alreadyThere: false });
    });

    test('without a secondary prints nothing new and --json has no `secondary` field', async () => {
      // Prepare
      harness = await startHarness({ secondary: false });
      const text = captured();
      const json = captured();

      // Act
      await backupCommand(harness.config, SANDBOX_APPLIANCE_TARGET, text.io);
      await backupCommand(harness.config, SANDBOX_APPLIANCE_TARGET, json.io, { json: true });

      // Assess
      expect(text.out.filter((line) => line.includes('second copy'))).toEqual([]);
      expect(Object.keys(JSON.parse(json.out.join('')) as object)).not.toContain('secondary');
    });

    test('a failed second copy exits 0 with a warning: the primary copy is archived and verified', async () => {
      // Prepare
      harness = await startHarness();
      await secondaryClient().send(new DeleteBucketCommand({ Bucket: SANDBOX_SECONDARY_BUCKET }));
      const text = captured();

      // Act
      const result = await backupCommand(harness.config, SANDBOX_APPLIANCE_TARGET, text.io);

      // Assess
      expect(result.exitCode).toBe(0);
      expect(text.err).toContain(`warning: ${SANDBOX_APPLIANCE_TARGET} is archived and verified in the primary, but its copy to the secondary failed (SecondaryCopyFailed); the scheduled catch-up copies it`);
      expect(text.out).toContain('  second copy failed (the scheduled catch-up copies it)');
    });
  });
});

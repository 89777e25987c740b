import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectLegalHoldCommand,
  GetObjectRetentionCommand,
  GetObjectTaggingCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { localS3Client, startLocalS3, type LocalS3 } from '../../bin/sandbox/local-s3';
import { pruneCommand } from '../../bin/cli/prune';
import { protectCommand } from '../../bin/cli/protect';
import type { CliIo } from '../../bin/cli/commands';
import { archiveKeyFor, manifestKeyFor } from '../../functions/archive/manifest';
import type { ArchivePlace } from '../../functions/archive/places';
import { PROTECTED_TAG } from '../../functions/archive/prune-protection';
import { placesStepSummary, prunePlaces } from '../../functions/archive/prune';
import type { PruneReport, RetentionPolicy } from '../../functions/archive/prune-report';
import { parseConfig } from '../../functions/config/load';
import type { OffsiteConfig } from '../../functions/config/schema';
import { putArchivedCopy } from '../support/archived-copy';
import { copyToSecondaryForTest, type PlaceAt } from '../support/secondary-copy';

const PRIMARY_BUCKET = 'prune-primary';
const SECONDARY_BUCKET = 'prune-secondary';
const TARGET = 'netbox-prod';
const NOW = new Date('2030-01-01T00:00:00Z');
const SECONDARY_KEY_ENV = 'OFFSITE_TEST_SECONDARY_KEY';

function captureIo(): CliIo & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, out: (line) => lines.push(line), err: (line) => errors.push(line), errStream: process.stderr };
}

function configFor(primary: LocalS3, secondary: LocalS3, retention: RetentionPolicy): OffsiteConfig {
  return parseConfig(
    {
      archive: {
        bucket: PRIMARY_BUCKET,
        prefix: 'backups/',
        region: primary.region,
        endpoint: primary.endpoint,
        secondary: { bucket: SECONDARY_BUCKET, prefix: 'second/', region: secondary.region, endpoint: secondary.endpoint, forcePathStyle: true, credentials: { env: SECONDARY_KEY_ENV } },
      },
      timezone: 'UTC',
      targets: [{ name: TARGET, kind: 'netbox-cloud', baseUrl: 'https://api.netboxlabs.com', orgId: 'org-123', instanceId: 'nb-a12ff000777', credentials: { env: 'NETBOX_CLOUD_API_KEY' }, retention }],
    },
    'test',
  );
}

/** A whole copy in the primary (object, then manifest) as the copier leaves it. */
async function plantCopy(place: PlaceAt, createdAt: string): Promise<string> {
  const objectKey = archiveKeyFor(place.prefix, TARGET, createdAt, `b-${createdAt}`, '.tar.gz');
  await putArchivedCopy(place.s3, place.bucket, { target: TARGET, objectKey, sourceBackupId: `b-${createdAt}`, createdAt, bytes: Buffer.from(`backup ${createdAt}`) });
  return objectKey;
}

async function keysIn(place: PlaceAt): Promise<string[]> {
  const page = await place.s3.send(new ListObjectsV2Command({ Bucket: place.bucket }));
  return (page.Contents ?? []).map((object) => object.Key ?? '').sort();
}

const withManifests = (keys: readonly string[]): string[] => keys.flatMap((key) => [key, manifestKeyFor(key)]).sort();

describe('prune and protect in both places (two local stores)', () => {
  let primaryStore: LocalS3;
  let secondaryStore: LocalS3;
  let directory: string;
  let primary: PlaceAt;
  let secondary: PlaceAt;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'offsite-prune-places-'));
    primaryStore = await startLocalS3({ directory: join(directory, 'primary'), buckets: [PRIMARY_BUCKET] });
    secondaryStore = await startLocalS3({ directory: join(directory, 'secondary'), buckets: [SECONDARY_BUCKET] });
    primary = { s3: localS3Client(primaryStore), bucket: PRIMARY_BUCKET, prefix: 'backups/' };
    secondary = { s3: localS3Client(secondaryStore), bucket: SECONDARY_BUCKET, prefix: 'second/' };
    process.env.AWS_ACCESS_KEY_ID = primaryStore.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = primaryStore.secretAccessKey;
    process.env[SECONDARY_KEY_ENV] = JSON.stringify({ accessKeyId: secondaryStore.accessKeyId, secretAccessKey: secondaryStore.secretAccessKey });
  });

  afterAll(async () => {
    delete process.env[SECONDARY_KEY_ENV];
    await Promise.all([primaryStore.stop(), secondaryStore.stop()]);
    await rm(directory, { recursive: true, force: true });
  });

  afterEach(async () => {
    for (const place of [primary, secondary]) for (const key of await keysIn(place)) await place.s3.send(new DeleteObjectCommand({ Bucket: place.bucket, Key: key }));
  });

  test('prune leaves each place holding exactly the copies its own retention keeps', async () => {
    // Prepare: four copies in the primary; the secondary has not caught up with the newest.
    const [newest, second, third, oldest] = [
      await plantCopy(primary, '2019-12-04T11:59:15Z'),
      await plantCopy(primary, '2019-12-03T11:59:15Z'),
      await plantCopy(primary, '2019-12-02T11:59:15Z'),
      await plantCopy(primary, '2019-12-01T11:59:15Z'),
    ] as const;
    const copied = [];
    for (const key of [second, third, oldest]) copied.push(await copyToSecondaryForTest(primary, secondary, key));
    const io = captureIo();

    // Act
    const result = await pruneCommand(configFor(primaryStore, secondaryStore, { keepLast: 2 }), TARGET, io, { json: true, clock: () => NOW });

    // Assess
    expect(result.exitCode).toBe(0);
    expect(await keysIn(primary)).toEqual(withManifests([newest, second]));
    expect(await keysIn(secondary)).toEqual(withManifests([copied[0] ?? '', copied[1] ?? '']));
    const printed = JSON.parse(io.lines.join('\n')) as PruneReport;
    expect(printed.copies.map((copy) => [copy.objectKey, copy.decision])).toEqual([
      [newest, 'keep'],
      [second, 'keep'],
      [third, 'remove'],
      [oldest, 'remove'],
    ]);
    expect(printed.secondary).toMatchObject({ place: 'secondary', url: `s3://${SECONDARY_BUCKET}/second/` });
    expect(printed.secondary?.copies.map((copy) => [copy.objectKey, copy.decision, copy.removal?.done])).toEqual([
      [copied[0], 'keep', undefined],
      [copied[1], 'keep', undefined],
      [copied[2], 'remove', true],
    ]);
  });

  test('the text output lists each place under its own heading, and a dry run removes nothing in either', async () => {
    // Prepare
    const kept = await plantCopy(primary, '2019-12-04T11:59:15Z');
    const old = await plantCopy(primary, '2019-12-01T11:59:15Z');
    const oldThere = await copyToSecondaryForTest(primary, secondary, old);
    const io = captureIo();

    // Act
    const result = await pruneCommand(configFor(primaryStore, secondaryStore, { keepLast: 1 }), TARGET, io, { dryRun: true, clock: () => NOW });

    // Assess
    expect(result.exitCode).toBe(0);
    expect(io.lines).toEqual([
      'Would prune netbox-prod: retention keepLast=1, periods in UTC',
      `  in the primary (s3://${PRIMARY_BUCKET}/backups/):`,
      `  keep       2019-12-04T11:59:15.000Z  ${kept}  (keep-last 1)`,
      `  remove     2019-12-01T11:59:15.000Z  ${old}  (outside keep-last 1)`,
      '  1 kept, 0 protected, 0 locked, 1 to remove',
      `  in the secondary (s3://${SECONDARY_BUCKET}/second/):`,
      `  keep       2019-12-01T11:59:15.000Z  ${oldThere}  (keep-last 1)`,
      '  1 kept, 0 protected, 0 locked, 0 to remove',
    ]);
    expect(await keysIn(primary)).toHaveLength(4);
    expect(await keysIn(secondary)).toHaveLength(2);
  });

  test('protect marks the copy in both places, and prune keeps it in both', async () => {
    // Prepare
    const config = configFor(primaryStore, secondaryStore, { keepLast: 1 });
    await plantCopy(primary, '2019-12-04T11:59:15Z');
    const old = await plantCopy(primary, '2019-12-01T11:59:15Z');
    const oldThere = await copyToSecondaryForTest(primary, secondary, old);
    const io = captureIo();

    // Act
    const protectedResult = await protectCommand(config, TARGET, old, io, { protect: true });
    const pruned = await pruneCommand(config, TARGET, captureIo(), { clock: () => NOW });

    // Assess
    expect(protectedResult.exitCode).toBe(0);
    for (const [place, key] of [[primary, old], [secondary, oldThere]] as const) {
      const tags = await place.s3.send(new GetObjectTaggingCommand({ Bucket: place.bucket, Key: key }));
      expect(tags.TagSet).toEqual([{ Key: PROTECTED_TAG, Value: 'true' }]);
    }
    expect(io.errors).toEqual([
      `primary s3://${PRIMARY_BUCKET}/backups/: protected (object tag offsite:protected)`,
      `secondary s3://${SECONDARY_BUCKET}/second/: protected (object tag offsite:protected)`,
    ]);
    expect(pruned.report.copies.find((copy) => copy.objectKey === old)?.decision).toBe('protected');
    expect(pruned.report.secondary?.copies.find((copy) => copy.objectKey === oldThere)?.decision).toBe('protected');
  });

  test('protect marks the primary and names the secondary when the secondary has no copy yet', async () => {
    // Prepare
    const config = configFor(primaryStore, secondaryStore, { keepLast: 1 });
    const key = await plantCopy(primary, '2019-12-04T11:59:15Z');
    const io = captureIo();

    // Act
    const result = await protectCommand(config, TARGET, key, io, { protect: true });

    // Assess
    expect(result.exitCode).toBe(0);
    const tags = await primary.s3.send(new GetObjectTaggingCommand({ Bucket: PRIMARY_BUCKET, Key: key }));
    expect(tags.TagSet).toEqual([{ Key: PROTECTED_TAG, Value: 'true' }]);
    expect(io.errors[1]).toMatch(/^secondary s3:\/\/prune-secondary\/second\/: no copy of second\/netbox-prod\/.* there \(not copied yet, or lost\): nothing protected in the secondary$/);
  });
});

describe('the secondary decides by its own marks (S3 mocked: the local store has no Object Lock)', () => {
  const copies = [
    { createdAt: '2019-12-04T11:59:15Z', name: '2019-12-04T11-59-15Z_new.tar.gz' },
    { createdAt: '2019-12-01T11:59:15Z', name: '2019-12-01T11-59-15Z_old.tar.gz' },
  ];

  /** A place holding the two copies, nothing marked, no legal hold or retention. */
  function mockedPlace(name: ArchivePlace['name'], prefix: string, objectLock: boolean) {
    const s3 = new S3Client({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    const mock = mockClient(s3);
    const keys = copies.map(({ name: file }) => `${prefix}${TARGET}/${file}`);
    mock.on(ListObjectsV2Command).resolves({ Contents: keys.flatMap((key) => [{ Key: key, Size: 3, LastModified: NOW }, { Key: manifestKeyFor(key), Size: 10, LastModified: NOW }]) });
    copies.forEach(({ createdAt }, index) => {
      const key = keys[index] ?? '';
      const manifest = { formatVersion: 1, target: TARGET, kind: 'netbox-cloud', sourceBackupId: `b${index}`, objectKey: key, sizeBytes: 3, sha256: '0'.repeat(64), sourceChecksum: null, sourceChecksumAlgorithm: null, sourceChecksumVerified: false, sourceSizeBytes: null, createdAt, copiedAt: createdAt, contentType: 'x', source: {} };
      mock.on(GetObjectCommand, { Key: manifestKeyFor(key) }).resolves({ Body: { transformToString: async () => JSON.stringify(manifest) } } as never);
    });
    mock.on(GetObjectTaggingCommand).resolves({ TagSet: [] });
    const noLock = Object.assign(new Error('none'), { name: 'NoSuchObjectLockConfiguration' });
    mock.on(GetObjectLegalHoldCommand).rejects(noLock);
    mock.on(GetObjectRetentionCommand).rejects(noLock);
    mock.on(DeleteObjectCommand).resolves({});
    const place: ArchivePlace = { name, s3, bucket: `${name}-bucket`, prefix, objectLock, kmsKeyArn: undefined, url: `s3://${name}-bucket/${prefix}` };
    return { place, mock, oldKey: keys[1] ?? '' };
  }
  const options = { target: TARGET, policy: { keepLast: 1 }, timezone: 'UTC', dryRun: false, now: NOW } as const;

  test('a copy under Object Lock retention in the secondary is locked there, while the primary removes its own', async () => {
    // Prepare
    const primary = mockedPlace('primary', 'backups/', false);
    const secondary = mockedPlace('secondary', 'second/', true);
    secondary.mock.on(GetObjectRetentionCommand, { Key: secondary.oldKey }).resolves({ Retention: { Mode: 'COMPLIANCE', RetainUntilDate: new Date('2030-02-01T00:00:00Z') } });

    // Act
    const [primaryOutcome, secondaryOutcome] = await prunePlaces([primary.place, secondary.place], options);

    // Assess
    expect(primaryOutcome?.report.copies[1]).toMatchObject({ objectKey: primary.oldKey, decision: 'remove', removal: { done: true } });
    expect(secondaryOutcome?.report.copies[1]).toMatchObject({ objectKey: secondary.oldKey, decision: 'locked', reason: expect.stringMatching(/^Object Lock retention until 2030-02-01/) });
    expect(secondary.mock.commandCalls(DeleteObjectCommand)).toHaveLength(0);
  });

  test('a copy protected in the primary is kept in the secondary, where it arrived without the mark', async () => {
    // Prepare
    const primary = mockedPlace('primary', 'backups/', false);
    const secondary = mockedPlace('secondary', 'second/', false);
    primary.mock.on(GetObjectTaggingCommand, { Key: primary.oldKey }).resolves({ TagSet: [{ Key: PROTECTED_TAG, Value: 'true' }] });

    // Act
    const [primaryOutcome, secondaryOutcome] = await prunePlaces([primary.place, secondary.place], options);

    // Assess
    expect(primaryOutcome?.report.copies[1]).toMatchObject({ objectKey: primary.oldKey, decision: 'protected' });
    expect(secondaryOutcome?.report.copies[1]).toMatchObject({ objectKey: secondary.oldKey, decision: 'protected' });
    expect(secondary.mock.commandCalls(DeleteObjectCommand)).toHaveLength(0);
  });

  test('a removal failing in the secondary fails the PruneArchive step, named with its place', async () => {
    // Prepare
    const primary = mockedPlace('primary', 'backups/', false);
    const secondary = mockedPlace('secondary', 'second/', false);
    secondary.mock.on(DeleteObjectCommand).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));

    // Act
    const summary = placesStepSummary(await prunePlaces([primary.place, secondary.place], options));

    // Assess: the counts IsArchivePruneComplete reads cover both places.
    expect(summary.removed.count).toBe(1);
    expect(summary.removalFailed).toEqual({ count: 1, copies: [{ objectKey: secondary.oldKey, error: expect.stringMatching(/AccessDenied/), place: 'secondary' }] });
    expect(summary.failureSummary).toMatch(/^in the secondary s3:\/\/secondary-bucket\/second\/: second\/netbox-prod\/2019-12-01T11-59-15Z_old\.tar\.gz: the manifest could not be removed/);
    expect(summary).toMatchObject({ secondary: { removed: { count: 0 }, removalFailed: { count: 1 } } });
  });

  test('without a secondary the step output is the primary summary, unchanged', async () => {
    // Prepare
    const primary = mockedPlace('primary', 'backups/', false);

    // Act
    const summary = placesStepSummary(await prunePlaces([primary.place], options));

    // Assess
    expect(Object.keys(summary)).toEqual(['target', 'timezone', 'policy', 'kept', 'protected', 'locked', 'removed', 'removalFailed', 'leftoversRemoved', 'leftoversFailed', 'failureSummary']);
  });
});

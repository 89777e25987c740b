import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { CloudWatchClient, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { handler } from '../../functions/archive/handlers/catch-up-secondary';
import { copyToArchive } from '../../functions/archive/copier';
import { SECONDARY_CATCH_UP_ALARM_ENV } from '../../functions/archive/freshness-names';
import { archiveKeyFor } from '../../functions/archive/manifest';
import { NO_SECONDARY_REASON, type CatchUpSummary } from '../../functions/archive/secondary-copy';
import { forgetRuntimeConfig } from '../../functions/runtime/config-source';
import { startLocalS3, type LocalS3 } from '../../bin/sandbox/local-s3';
import { listKeys, localS3Client } from '../support/harness';

const PRIMARY_BUCKET = 'catch-up-primary';
const SECONDARY_BUCKET = 'catch-up-secondary';
const TARGET = 'netbox-prod';
const ALARM = 'offsite-secondary-catch-up-failed';

const context = { functionName: 'offsite-catch-up', awsRequestId: 'request-1', getRemainingTimeInMillis: () => 900_000 } as unknown as Context;

describe('CatchUpSecondary (handler)', () => {
  let directory: string;
  let primaryStore: LocalS3;
  let secondaryStore: LocalS3;
  const cloudwatch = mockClient(CloudWatchClient);
  const saved = { ...process.env };

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'offsite-catch-up-'));
    primaryStore = await startLocalS3({ directory: join(directory, 'primary'), buckets: [PRIMARY_BUCKET] });
    secondaryStore = await startLocalS3({ directory: join(directory, 'secondary'), buckets: [SECONDARY_BUCKET] });
  });

  afterEach(() => {
    process.env = { ...saved };
    forgetRuntimeConfig();
    cloudwatch.reset();
  });

  afterAll(async () => {
    cloudwatch.restore();
    await Promise.all([primaryStore.stop(), secondaryStore.stop()]);
    await rm(directory, { recursive: true, force: true });
  });

  async function useConfigWith(secondary: boolean): Promise<void> {
    const config = {
      archive: {
        bucket: PRIMARY_BUCKET,
        prefix: 'backups/',
        region: primaryStore.region,
        endpoint: primaryStore.endpoint,
        ...(secondary ? { secondary: { bucket: SECONDARY_BUCKET, prefix: 'copies/', region: secondaryStore.region, endpoint: secondaryStore.endpoint } } : {}),
      },
      timezone: 'UTC',
      targets: [{ name: TARGET, kind: 'netbox-cloud', baseUrl: 'https://api.netboxlabs.com', orgId: 'org-123', instanceId: 'nb-a12ff000777', credentials: { env: 'NETBOX_CLOUD_API_KEY' } }],
    };
    const path = join(directory, `offsite-${secondary ? 'with' : 'without'}.json`);
    await writeFile(path, JSON.stringify(config));
    Object.assign(process.env, { OFFSITE_CONFIG: path, AWS_ACCESS_KEY_ID: primaryStore.accessKeyId, AWS_SECRET_ACCESS_KEY: primaryStore.secretAccessKey, [SECONDARY_CATCH_UP_ALARM_ENV]: ALARM });
    forgetRuntimeConfig();
  }

  async function archived(createdAt: string): Promise<string> {
    const body = randomBytes(64 * 1024);
    const objectKey = archiveKeyFor('backups/', TARGET, createdAt, `b-${createdAt}`, '.backup');
    await copyToArchive({
      source: { where: 'test', open: () => Promise.resolve({ body: Readable.from([body]), contentType: 'application/octet-stream', contentLength: body.length }) },
      expected: { sizeBytes: body.length, checksum: null },
      s3: localS3Client(primaryStore),
      bucket: PRIMARY_BUCKET,
      objectKey,
      describe: { target: TARGET, kind: 'netbox-cloud', sourceBackupId: `b-${createdAt}`, createdAt, source: {} },
    });
    return objectKey;
  }

  test('copies what the secondary lacks and raises its alarm naming the copy it could not make', async () => {
    // Prepare: two copies; the newer one's object is gone from the primary.
    await useConfigWith(true);
    const good = await archived('2026-12-01T02:00:00Z');
    const broken = await archived('2026-12-02T02:00:00Z');
    await localS3Client(primaryStore).send(new DeleteObjectCommand({ Bucket: PRIMARY_BUCKET, Key: broken }));
    cloudwatch.on(SetAlarmStateCommand).resolves({});

    // Act
    const summary = (await handler({ job: 'secondary-catch-up' }, context)) as CatchUpSummary;

    // Assess
    expect(summary.copied.map((copy) => copy.objectKey)).toEqual([`copies/${good.slice('backups/'.length)}`]);
    expect(summary.failed.map((copy) => copy.objectKey)).toEqual([broken]);
    expect(await listKeys(localS3Client(secondaryStore), SECONDARY_BUCKET, 'copies/')).toEqual([`copies/${good.slice('backups/'.length)}`, `copies/${good.slice('backups/'.length)}.manifest.json`]);
    const alarms = cloudwatch.commandCalls(SetAlarmStateCommand).map((call) => call.args[0].input);
    expect(alarms).toEqual([
      {
        AlarmName: ALARM,
        StateValue: 'ALARM',
        StateReason: `1 archived copies could not be copied to the secondary s3://${SECONDARY_BUCKET}/copies/: ${broken} (PrimaryCopyMissing). Run \`offsite verify <target>\`; the next catch-up tries again.`,
      },
    ]);
  });

  test('without a secondary it copies nothing, says why and raises no alarm', async () => {
    // Prepare
    await useConfigWith(false);

    // Act
    const result = await handler({ job: 'secondary-catch-up' }, context);

    // Assess
    expect(result).toEqual({ secondary: null, reason: NO_SECONDARY_REASON });
    expect(cloudwatch.commandCalls(SetAlarmStateCommand)).toEqual([]);
  });
});

import { GATEWAY_502_HTML } from '../../../bin/sandbox/netbox-cloud';
import { manifestSchema } from '../../../functions/archive/manifest';
import { watchConnections } from '../../support/connect-guard';
import { listKeys, openMultipartUploads, readObject, SANDBOX_BUCKET, sha256, startHarness, type Harness } from '../../support/harness';
import { SANDBOX_SOURCE_INSTANCE, SANDBOX_NETBOX_TARGET } from '../../../bin/sandbox/netbox-cloud/sandbox-round';

interface BackupOutput {
  backup: { backupId: string };
  archive: { objectKey: string; manifestKey: string; sizeBytes: number; sha256: string };
}

describe('NetBox Cloud backup lifecycle (state-machines/netbox-cloud-backup.asl.json)', () => {
  let harness: Harness;

  beforeEach(async () => {
    harness = await startHarness({ netboxCloud: { defaultPageSize: 2 } });
  });

  afterEach(async () => {
    await harness.stop();
  });

  test('archives the backup the request produced, byte for byte, with its manifest', async () => {
    // Prepare: the simulator lists 3 older scheduled backups per instance, in undocumented order.

    // Act
    const outcome = await harness.run('netbox-cloud', 'backup', { target: SANDBOX_NETBOX_TARGET });

    // Assess
    expect(outcome).toMatchObject({ succeeded: true });
    const output = outcome.output as BackupOutput;
    const produced = harness.sandbox.netboxCloud.listBackups().filter((backup) => backup.trigger_type === 'manual');
    expect(produced).toHaveLength(1);
    expect(output.backup.backupId).toBe(produced[0]?.id);
    const stored = await readObject(harness.s3, SANDBOX_BUCKET, output.archive.objectKey);
    expect(sha256(stored)).toBe(sha256(harness.sandbox.netboxCloud.backupBytes(output.backup.backupId)));
    const manifest = manifestSchema.parse(JSON.parse((await readObject(harness.s3, SANDBOX_BUCKET, output.archive.manifestKey)).toString('utf8')));
    expect(manifest).toMatchObject({
      target: 'netbox-sandbox',
      kind: 'netbox-cloud',
      sourceBackupId: output.backup.backupId,
      objectKey: output.archive.objectKey,
      sizeBytes: stored.length,
      sha256: sha256(stored),
      sourceChecksum: produced[0]?.checksum,
      sourceChecksumVerified: true,
      createdAt: produced[0]?.created,
    });
    expect(manifest.source).toMatchObject({ instanceId: SANDBOX_SOURCE_INSTANCE });
  });

  test('matches the produced backup by time window when trigger_id does not name the request', async () => {
    // Prepare
    await harness.stop();
    harness = await startHarness({ netboxCloud: { triggerIdForRequests: false, defaultPageSize: 2 } });

    // Act
    const outcome = await harness.run('netbox-cloud', 'backup', { target: SANDBOX_NETBOX_TARGET });

    // Assess
    expect(outcome.succeeded).toBe(true);
    const produced = harness.sandbox.netboxCloud.listBackups().filter((backup) => backup.trigger_type === 'manual');
    expect((outcome.output as BackupOutput).backup.backupId).toBe(produced[0]?.id);
  });

  test('retries 429 and 503 answers with backoff and still archives', async () => {
    // Prepare
    const simulator = harness.sandbox.netboxCloud;
    simulator.failNext({ method: 'POST', pathIncludes: '/backup-requests/' }, 429, { headers: { 'Retry-After': '0' }, times: 3 });
    simulator.failNext({ method: 'GET', pathIncludes: '/backup-requests/' }, 503, { times: 4 });
    simulator.failNext({ method: 'GET', pathIncludes: '/backup-retrieved/' }, 502, { times: 1 });

    // Act
    const outcome = await harness.run('netbox-cloud', 'backup', { target: SANDBOX_NETBOX_TARGET });

    // Assess
    expect(outcome.succeeded).toBe(true);
    const posts = simulator.requests.filter((request) => request.method === 'POST' && request.path.endsWith('/backup-requests/'));
    expect(posts).toHaveLength(4);
    expect(simulator.listBackupRequests()).toHaveLength(1);
    // Two 429s waited out inside the function (Retry-After: 0), the third handed to the state machine.
    expect(outcome.retries).toMatchObject({ RequestBackup: 1, CheckBackupRequest: 4, CheckRetrieval: 1 });
  });

  test('a request that never completes ends in BackupRequestTimedOut after a bounded number of checks', async () => {
    // Prepare
    await harness.stop();
    harness = await startHarness({ poll: { initialSeconds: 2, maxSeconds: 8, timeoutMinutes: 1 } });
    harness.sandbox.netboxCloud.neverCompleteBackupRequests(true);

    // Act
    const outcome = await harness.run('netbox-cloud', 'backup', { target: SANDBOX_NETBOX_TARGET });

    // Assess: 2+4+8+8+8+8+8+8 >= 60 s of virtual waiting, so 9 checks at most.
    expect(outcome).toMatchObject({ succeeded: false, error: 'BackupRequestTimedOut' });
    const checks = outcome.path.filter((state) => state === 'CheckBackupRequest').length;
    expect(checks).toBeGreaterThan(3);
    expect(checks).toBeLessThanOrEqual(9);
    expect(await listKeys(harness.s3, SANDBOX_BUCKET)).toEqual([]);
  });

  test('a download that breaks off leaves no object, no manifest and no open multipart upload', async () => {
    // Prepare: 12 MiB so the copy is multipart, broken after 9 MiB every time it is tried.
    await harness.stop();
    harness = await startHarness({ netboxCloud: { backupSizeBytes: 12 * 1024 * 1024 } });
    harness.sandbox.netboxCloud.disconnectDownloadAfter(9 * 1024 * 1024, 10);

    // Act
    const outcome = await harness.run('netbox-cloud', 'backup', { target: SANDBOX_NETBOX_TARGET });

    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error: 'TransientApiError' });
    expect(outcome.retries.CopyToArchive).toBe(3);
    expect(await listKeys(harness.s3, SANDBOX_BUCKET)).toEqual([]);
    expect(await openMultipartUploads(harness.s3, SANDBOX_BUCKET)).toEqual([]);
  });

  test('a presigned_url on the cloud metadata address fails as DownloadUrlRefused, without a retry or a connection to it', async () => {
    // Prepare
    harness.sandbox.netboxCloud.presignedUrlOrigin('http://169.254.169.254');
    const watch = watchConnections();

    // Act
    const outcome = await harness.run('netbox-cloud', 'backup', { target: SANDBOX_NETBOX_TARGET }).finally(() => watch.restore());

    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error: 'DownloadUrlRefused' });
    expect(outcome.cause).toContain('http://169.254.169.254');
    expect(outcome.cause).not.toMatch(/X-Amz-Signature|presigned/);
    expect(outcome.retries.CopyToArchive ?? 0).toBe(0);
    expect(watch.hosts).not.toContain('169.254.169.254');
    expect(await listKeys(harness.s3, SANDBOX_BUCKET)).toEqual([]);
  });

  test('a copy whose bytes differ from the vendor checksum fails as CopyVerificationFailed and stores nothing', async () => {
    // Prepare
    harness.sandbox.netboxCloud.corruptNextDownload('flipped-byte');

    // Act
    const outcome = await harness.run('netbox-cloud', 'backup', { target: SANDBOX_NETBOX_TARGET });

    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error: 'CopyVerificationFailed' });
    expect(outcome.cause).toMatch(/sha256 of the download is [0-9a-f]{64}; the vendor reported/);
    expect(await listKeys(harness.s3, SANDBOX_BUCKET)).toEqual([]);
  });

  test('a gateway 502 on a backup request that was made: the request is found, not made twice, and the backup archived', async () => {
    // Prepare
    harness.sandbox.netboxCloud.failNext({ method: 'POST', pathIncludes: '/backup-requests/' }, 502, { html: GATEWAY_502_HTML, afterHandling: true });

    // Act
    const outcome = await harness.run('netbox-cloud', 'backup', { target: SANDBOX_NETBOX_TARGET });

    // Assess
    expect(outcome.succeeded).toBe(true);
    const posts = harness.sandbox.netboxCloud.requests.filter((request) => request.method === 'POST' && request.path.endsWith('/backup-requests/'));
    expect(posts).toHaveLength(1);
    expect((outcome.output as { backupRequest: { requestId: string } }).backupRequest.requestId).toBe(harness.sandbox.netboxCloud.listBackupRequests()[0]?.id);
  });

  test('a connection lost on a retrieval request that was made: the retrieval is found, not requested twice, and the backup archived', async () => {
    // Prepare
    harness.sandbox.netboxCloud.failNext({ method: 'POST', pathIncludes: '/backup-retrieved/' }, 0, { afterHandling: true, dropConnection: true });

    // Act
    const outcome = await harness.run('netbox-cloud', 'backup', { target: SANDBOX_NETBOX_TARGET });

    // Assess
    expect(outcome.succeeded).toBe(true);
    const posts = harness.sandbox.netboxCloud.requests.filter((request) => request.method === 'POST' && request.path.endsWith('/backup-retrieved/'));
    expect(posts).toHaveLength(1);
    expect(harness.sandbox.netboxCloud.listRetrievals()).toHaveLength(1);
  });

  test('a backup list whose page 2 repeats page 1 while claiming more pages fails as InconsistentPagination, not retried', async () => {
    // Prepare: no trigger ids, so the produced backup can only be told by looking at the whole list.
    await harness.stop();
    harness = await startHarness({ netboxCloud: { triggerIdForRequests: false, defaultPageSize: 2 } });
    harness.sandbox.netboxCloud.repeatFirstPage('/backups/');

    // Act
    const outcome = await harness.run('netbox-cloud', 'backup', { target: SANDBOX_NETBOX_TARGET });

    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error: 'InconsistentPagination' });
    expect(outcome.cause).toMatch(/list backups: page 2 repeats .* \(it claims total_pages 1000000, last_page false\)/);
    expect(outcome.retries.FindBackup).toBeUndefined();
    expect(await listKeys(harness.s3, SANDBOX_BUCKET)).toEqual([]);
  });

  test('a backup list that contradicts itself but already holds the backup sought is used, and the warning is kept in the execution output', async () => {
    // Prepare: trigger ids name the request, and page 1 (all items at page size 100) already lists the produced backup.
    await harness.stop();
    harness = await startHarness({ netboxCloud: { defaultPageSize: 100 } });
    harness.sandbox.netboxCloud.repeatFirstPage('/backups/');

    // Act
    const outcome = await harness.run('netbox-cloud', 'backup', { target: SANDBOX_NETBOX_TARGET });

    // Assess
    expect(outcome.succeeded).toBe(true);
    const output = outcome.output as BackupOutput & { backup: { warnings?: string[] } };
    expect(output.backup.warnings).toEqual([expect.stringMatching(/^NetBox Cloud: list backups: page 2 repeats .*inconsistent pagination; the item sought is already listed/)]);
  });

  test('an unknown target fails before any API call, naming the configured targets', async () => {
    // Act
    const outcome = await harness.run('netbox-cloud', 'backup', { target: 'netbox-typo' });

    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error: 'InvalidInput' });
    expect(outcome.cause).toContain('Unknown target "netbox-typo". Configured targets: netbox-sandbox, appliance-sandbox, appliance-lab-sandbox, vps-sandbox, netbox-proxbox-sandbox.');
    expect(harness.sandbox.netboxCloud.requests).toEqual([]);
  });
});

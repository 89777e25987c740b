import { SANDBOX_VPS_SERVER, SANDBOX_VPS_TARGET } from '../../../bin/sandbox/vps/sandbox-round';
import { startHarness, type Harness } from '../../support/harness';

describe('VPS restore lifecycle (state-machines/vps-restore.asl.json)', () => {
  let harness: Harness;

  beforeEach(async () => {
    harness = await startHarness();
  });

  afterEach(async () => {
    await harness.stop();
  });


  const restoreInput = (backupId = 'latest', overrides: Record<string, string> = {}) => ({ target: SANDBOX_VPS_TARGET, backupId, confirm: SANDBOX_VPS_TARGET, ...overrides });
  const restorePosts = () => harness.sandbox.vps.requests.filter((request) => request.method === 'POST' && request.path.endsWith('/restore/'));
  const serverOf = (backup: Record<string, unknown>) => (backup.server as { id: number }).id;

  test('restores "latest" — the newest completed backup of the server, of any type — and ends once the server reports running', async () => {
    // Prepare: a newer backup still in progress must not be chosen; an automatic one an hour old is the newest completed.
    const expected = harness.sandbox.vps.addBackup({ serverId: SANDBOX_VPS_SERVER, type: 'automatic', ageMs: 60 * 60 * 1000 });
    harness.sandbox.vps.addBackup({ serverId: SANDBOX_VPS_SERVER, type: 'manual', ageMs: 60 * 1000, inProgress: true });

    // Act
    const outcome = await harness.run('vps', 'restore', restoreInput());

    // Assess
    expect(outcome).toMatchObject({ succeeded: true });
    expect(restorePosts().map((request) => [request.path, request.body])).toEqual([[`/api/v1/servers/${SANDBOX_VPS_SERVER}/restore/`, { backup_id: expected }]]);
    expect(harness.sandbox.vps.serverStatus(SANDBOX_VPS_SERVER)).toBe('running');
    expect((outcome.output as { restore: { seenRestoring: boolean } }).restore.seenRestoring).toBe(true);
  });

  test("a backup of another server is refused before any restore call", async () => {
    // Prepare
    const other = harness.sandbox.vps.listBackups().find((backup) => serverOf(backup) !== SANDBOX_VPS_SERVER);

    // Act
    const outcome = await harness.run('vps', 'restore', restoreInput(String(other?.id)));

    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error: 'BackupNotRestorable' });
    expect(outcome.cause).toMatch(/belongs to server 67890/);
    expect(restorePosts()).toEqual([]);
  });

  test('a backup not completed is refused before any restore call', async () => {
    // Prepare
    const running = harness.sandbox.vps.addBackup({ serverId: SANDBOX_VPS_SERVER, type: 'manual', inProgress: true });

    // Act
    const outcome = await harness.run('vps', 'restore', restoreInput(String(running)));

    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error: 'BackupNotRestorable' });
    expect(outcome.cause).toMatch(/"in_progress", not completed/);
    expect(restorePosts()).toEqual([]);
  });

  test('a restore the server reports failed ends in RestoreFailed with its status', async () => {
    // Prepare
    harness.sandbox.vps.setRestoreOutcome(SANDBOX_VPS_SERVER, 'failed');

    // Act
    const outcome = await harness.run('vps', 'restore', restoreInput());

    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error: 'RestoreFailed' });
    expect(outcome.cause).toMatch(/server 12345 as "error"/);
  });

  test('without the confirmation nothing is called', async () => {
    // Act
    const outcomes = [await harness.run('vps', 'restore', restoreInput('latest', { confirm: 'web-01' })), await harness.run('vps', 'restore', { target: SANDBOX_VPS_TARGET, backupId: 'latest' })];

    // Assess
    expect(outcomes.map((outcome) => outcome.error)).toEqual(['RestoreNotConfirmed', 'RestoreNotConfirmed']);
    expect(harness.sandbox.vps.requests).toEqual([]);
  });

  test('a 409 (already restoring) fails as RestoreInProgress, not retried', async () => {
    // Prepare
    harness.sandbox.vps.failNext({ method: 'POST', pathIncludes: '/restore/' }, 409, { body: { detail: 'Server is already restoring.' } });

    // Act
    const outcome = await harness.run('vps', 'restore', restoreInput());

    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error: 'RestoreInProgress' });
    expect(outcome.cause).toMatch(/already restoring/);
    expect(restorePosts()).toHaveLength(1);
  });

  test('a restore that never reports finished ends in RestoreTimedOut within poll.timeoutMinutes', async () => {
    // Prepare
    await harness.stop();
    harness = await startHarness({ vps: { restoreDurationMs: 60 * 60 * 1000 }, poll: { initialSeconds: 1, maxSeconds: 4, timeoutMinutes: 1 } });

    // Act
    const outcome = await harness.run('vps', 'restore', restoreInput());

    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error: 'RestoreTimedOut' });
  });

  test('a server that reads "running" without ever showing a restore running ends in RequestOutcomeUnknown, never in success', async () => {
    // Prepare: the provider accepts the restore but the server never reads "restoring" (queued, or done unseen).
    await harness.stop();
    harness = await startHarness({ vps: { restoreDurationMs: 0, restoreVisibleReads: 0 }, poll: { initialSeconds: 1, maxSeconds: 4, timeoutMinutes: 1 } });

    // Act
    const outcome = await harness.run('vps', 'restore', restoreInput());

    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error: 'RequestOutcomeUnknown' });
    expect(outcome.cause).toMatch(/never showed a restore running/);
    expect(restorePosts()).toHaveLength(1);
  });
});

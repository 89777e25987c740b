import { startSandboxEnvironment, type SandboxEnvironment } from '../../../bin/sandbox/sandbox';
import { SANDBOX_VPS_SERVER, SANDBOX_VPS_TARGET } from '../../../bin/sandbox/vps/sandbox-round';
import { runOffsite, type CliRun } from '../../support/cli';

// The CLI as a user runs it: the package's `offsite` bin, in its own process.
describe('offsite CLI against the VPS simulator', () => {
  let sandbox: SandboxEnvironment;
  const outputs: string[] = [];
  const run = async (args: string[]): Promise<CliRun> => {
    const result = await runOffsite(args, sandbox.env);
    outputs.push(result.stdout, result.stderr);
    return result;
  };

  beforeAll(async () => {
    sandbox = await startSandboxEnvironment({
      vps: { backupDurationMs: 300, restoreDurationMs: 800 },
      vpsTarget: { retention: { keepLast: 1 } },
      poll: { initialSeconds: 1, maxSeconds: 1, timeoutMinutes: 1 },
    });
  });

  afterAll(async () => {
    await sandbox.stop();
  });

  test('backup exits 0 once the provider reports completed and prints the catalogue record, saying the provider holds it', async () => {
    // Act
    const result = await run(['backup', SANDBOX_VPS_TARGET, '--json']);

    // Assess
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout) as { storage: string; heldBy: string; sourceBackupId: string; objectKey: null; manifestKey: string };
    expect(printed).toMatchObject({ storage: 'provider', heldBy: expect.stringMatching(/held by the provider, not off-site/), objectKey: null });
    expect(sandbox.vps.listBackups().find((backup) => String(backup.id) === printed.sourceBackupId)).toMatchObject({ status: 'completed', backup_type: 'manual' });
  });

  test('list shows the provider-held backups, offsite-made ones apart from the others, with the word "provider"', async () => {
    // Act
    const text = await run(['list', SANDBOX_VPS_TARGET]);
    const json = await run(['list', SANDBOX_VPS_TARGET, '--json']);

    // Assess
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/held by the provider, not off-site/);
    expect(text.stdout).toMatch(/automatic .*not made by offsite/);
    expect(text.stdout).toMatch(/manual .*offsite \(catalogued/);
    const listing = JSON.parse(json.stdout) as { providerRecords: unknown[]; provider: { backups: { madeByOffsite: boolean; type: string }[] } };
    expect(listing.providerRecords).toHaveLength(1);
    expect(listing.provider.backups.filter((backup) => backup.madeByOffsite)).toHaveLength(1);
    expect(listing.provider.backups.filter((backup) => !backup.madeByOffsite).map((backup) => backup.type).sort()).toEqual(['automatic', 'automatic', 'manual']);
  });

  test('prune --dry-run decides over offsite-made backups only and deletes nothing', async () => {
    // Prepare: a second offsite backup whose own retention step is refused (exit 0 with a warning), so keepLast 1 still has one to let go.
    sandbox.vps.failNext({ method: 'DELETE' }, 403, { body: { detail: 'You do not have permission to perform this action.' } });
    const second = await run(['backup', SANDBOX_VPS_TARGET]);
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/PruneFailed/);
    const before = sandbox.vps.listBackups().length;

    // Act
    const result = await run(['prune', SANDBOX_VPS_TARGET, '--dry-run', '--json']);

    // Assess
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { dryRun: boolean; copies: { objectKey: null; decision: string }[] };
    expect(report.dryRun).toBe(true);
    expect(report.copies.map((copy) => copy.decision)).toEqual(['keep', 'remove']);
    expect(report.copies.every((copy) => copy.objectKey === null)).toBe(true);
    expect(sandbox.vps.listBackups()).toHaveLength(before);
  });

  test('restore --backup latest exits 0 only after the server reports the restore finished', async () => {
    // Act
    const result = await run(['restore', SANDBOX_VPS_TARGET, '--backup', 'latest', '--yes']);

    // Assess
    expect(result.stderr).not.toMatch(/failed/);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/restored vps-sandbox \(server 12345\) from .* backup \d+/);
    expect(sandbox.vps.serverStatus(SANDBOX_VPS_SERVER)).toBe('running');
    const posts = sandbox.vps.requests.filter((request) => request.path.endsWith('/restore/'));
    expect(posts).toHaveLength(1);
  });

  test('a failed restore exits 1 with the provider\'s words', async () => {
    // Prepare
    sandbox.vps.setRestoreOutcome(SANDBOX_VPS_SERVER, 'failed');

    // Act
    const result = await run(['restore', SANDBOX_VPS_TARGET, '--backup', 'latest', '--yes']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/RestoreFailed/);
    expect(result.stderr).toMatch(/"error"/);
  });

  test('no output carries the token', () => {
    // Assess
    expect(outputs.length).toBeGreaterThan(0);
    for (const output of outputs) expect(output).not.toContain(sandbox.vps.token);
  });
});

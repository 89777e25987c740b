import { coverEverythingRoutine, SANDBOX_UNCOVERED } from '../../../bin/sandbox/netbox-proxbox/estate';
import { startSandboxEnvironment, type SandboxEnvironment } from '../../../bin/sandbox/sandbox';
import { SANDBOX_NETBOX_TARGET } from '../../../bin/sandbox/netbox-cloud/sandbox-round';
import { SANDBOX_PROXBOX_TARGET } from '../../../bin/sandbox/netbox-proxbox/sandbox-round';
import { runOffsite } from '../../support/cli';

// The CLI as a user runs it: the package's `offsite` bin, in its own process.
describe('offsite audit against the NetBox + Proxbox simulator', () => {
  let sandbox: SandboxEnvironment;

  beforeAll(async () => {
    sandbox = await startSandboxEnvironment();
  });

  afterAll(async () => {
    await sandbox.stop();
  });

  test('--json prints the contract document alone on stdout and exits 1 while VMs are uncovered', async () => {
    // Act
    const run = await runOffsite(['audit', SANDBOX_PROXBOX_TARGET, '--json'], sandbox.env);

    // Assess
    expect(run.code).toBe(1);
    const document = JSON.parse(run.stdout) as { target: string; virtualMachines: number; covered: number; uncovered: { name: string; vmid: number; reasons: string[] }[]; findings: { code: string }[] };
    expect(Object.keys(document)).toEqual(['target', 'generatedAt', 'virtualMachines', 'covered', 'uncovered', 'findings']);
    expect(document.uncovered.map((vm) => vm.name)).toEqual(SANDBOX_UNCOVERED);
    expect(document.covered).toBe(document.virtualMachines - SANDBOX_UNCOVERED.length);
    expect(new Set(document.findings.map((finding) => finding.code))).toEqual(
      new Set(['vm-uncovered', 'backup-too-old', 'retention-below-minimum', 'routine-disabled', 'routine-stale', 'routine-unscheduled', 'selection-unknown-vmid', 'selection-unstorable']),
    );
  });

  test('the table names each VM with its routines, newest backup age, replication and findings', async () => {
    // Act
    const run = await runOffsite(['audit', SANDBOX_PROXBOX_TARGET], sandbox.env);

    // Assess
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^VM\s+VMID\s+CLUSTER\/NODE\s+ROUTINES\s+NEWEST BACKUP\s+REPLICATION\s+FINDINGS/m);
    expect(run.stdout).toMatch(/^web-01\s+100\s+prod-cluster\/pve-node-01\s+backup-daily\s+2h\s+active\s+ok$/m);
    expect(run.stdout).toMatch(/^app-02\s+111 .*NONE .*vm-uncovered$/m);
  });

  test('a refused token exits 1 naming the token and quoting the X-Request-ID, never the token', async () => {
    // Prepare
    const badToken = 'ffffffffffffffffffffffffffffffffffffffff';

    // Act
    const run = await runOffsite(['audit', SANDBOX_PROXBOX_TARGET, '--json'], { ...sandbox.env, OFFSITE_SANDBOX_NETBOX_TOKEN: badToken });

    // Assess
    const refused = sandbox.netboxProxbox.requests.filter((request) => request.auth === 'invalid');
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('NotAuthorized');
    expect(run.stderr).toContain('OFFSITE_SANDBOX_NETBOX_TOKEN');
    expect(run.stderr).toContain(`X-Request-ID ${refused.at(-1)?.requestId ?? 'none'}`);
    expect(`${run.stdout}${run.stderr}`).not.toContain(badToken);
  });

  test('restore of a netbox-proxbox target and audit of a kind without one are refused with exit 2', async () => {
    // Act
    const restore = await runOffsite(['restore', SANDBOX_PROXBOX_TARGET, '--backup', 'latest', '--yes'], sandbox.env);
    const audit = await runOffsite(['audit', SANDBOX_NETBOX_TARGET], sandbox.env);

    // Assess
    expect([restore.code, audit.code]).toEqual([2, 2]);
    expect(restore.stderr).toContain('restore is not available for netbox-proxbox targets');
    expect(audit.stderr).toContain('audit is not available for netbox-cloud targets');
  });

  test('exit 0 once every VM in scope is covered', async () => {
    // Prepare
    sandbox.netboxProxbox.estate.backupRoutines.push(coverEverythingRoutine(100));

    // Act
    const run = await runOffsite(['audit', SANDBOX_PROXBOX_TARGET, '--json'], sandbox.env);

    // Assess
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as { uncovered: unknown[] }).uncovered).toEqual([]);
  });
});

import { lifecycleFor } from '../../../functions/catalog';
import { useConfig } from '../../../bin/cli/commands';
import { runLifecycle, type LifecycleOutcome } from '../../../bin/local/local-runner';
import { largeEstate, SANDBOX_UNCOVERED, sandboxEstate } from '../../../bin/sandbox/netbox-proxbox/estate';
import { startSandboxEnvironment, type SandboxEnvironment } from '../../../bin/sandbox/sandbox';
import { SANDBOX_PROXBOX_TARGET } from '../../../bin/sandbox/netbox-proxbox/sandbox-round';
import type { AuditReport } from '../../../functions/kinds/netbox-proxbox/coverage';
import { archiveClient } from '../../../functions/runtime/archive-client';
import { listKeys, NO_RETRY_DELAY_MS, readObject, SANDBOX_BUCKET } from '../../support/harness';

const LARGE = largeEstate(5000, 50);
let sandbox: SandboxEnvironment;

beforeAll(async () => {
  sandbox = await startSandboxEnvironment({ netboxProxbox: { estate: LARGE.estate } });
  Object.assign(process.env, sandbox.env);
  useConfig(sandbox.configPath);
});

afterAll(async () => {
  await sandbox.stop();
});

function runAudit(): Promise<LifecycleOutcome> {
  return runLifecycle({ lifecycle: lifecycleFor('netbox-proxbox', 'audit'), input: { target: SANDBOX_PROXBOX_TARGET }, retryOverridesMs: NO_RETRY_DELAY_MS });
}

async function reportOf(outcome: LifecycleOutcome): Promise<AuditReport> {
  const { reportKey } = outcome.output as { reportKey: string };
  const s3 = archiveClient(useConfig(sandbox.configPath).archive);
  return JSON.parse((await readObject(s3, SANDBOX_BUCKET, reportKey)).toString('utf8')) as AuditReport;
}

function restoreEstate(estate: typeof LARGE.estate): void {
  Object.assign(sandbox.netboxProxbox.estate, estate);
}

describe('the audit lifecycle (the real ASL, run locally)', () => {
  test('5,000 VMs and 50 routines: every list goes through S3, state carries counts only, and the report names exactly the uncovered VMs', async () => {
    // Act
    const outcome = await runAudit();

    // Assess
    expect(outcome.succeeded).toBe(true);
    expect(outcome.path).toEqual(['ReadVirtualMachines', 'ReadVmLinks', 'ReadBackupRoutines', 'ReadReplications', 'ReadBackups', 'ComputeCoverage', 'WriteReport', 'PublishMetrics', 'AuditDone']);
    expect(JSON.stringify(outcome.output).length).toBeLessThan(2000);
    const report = await reportOf(outcome);
    expect(report.virtualMachines).toBe(LARGE.inScope);
    expect(report.uncovered.map((vm) => vm.name)).toEqual(LARGE.uncovered);
    expect(report.rows).toHaveLength(LARGE.inScope);
    // Pages of 1000 VMs: the limit was asked for and next followed.
    expect(sandbox.netboxProxbox.requests.filter((request) => request.path === '/api/virtualization/virtual-machines/')).toHaveLength(5);
  });

  test('the report is kept as <prefix><target>/audit/<time>.json and .md, and the intermediate objects are removed', async () => {
    // Act
    const outcome = await runAudit();

    // Assess
    const { reportKey, markdownKey } = outcome.output as { reportKey: string; markdownKey: string };
    expect(reportKey).toMatch(new RegExp(`^backups/${SANDBOX_PROXBOX_TARGET}/audit/\\d{4}-\\d\\d-\\d\\dT\\d\\d-\\d\\d-\\d\\dZ\\.json$`));
    expect(markdownKey).toBe(reportKey.replace(/\.json$/, '.md'));
    const keys = await listKeys(archiveClient(useConfig(sandbox.configPath).archive), SANDBOX_BUCKET, `backups/${SANDBOX_PROXBOX_TARGET}/`);
    expect(keys.filter((key) => key.includes('/work/'))).toEqual([]);
    expect(keys).toContain(markdownKey);
  });

  test('inside Lambda the metrics are published as EMF with the Target dimension (and Severity for findings)', async () => {
    // Prepare
    const lines: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    process.env.AWS_LAMBDA_FUNCTION_NAME = 'offsite-test';

    // Act
    let outcome: LifecycleOutcome;
    try {
      outcome = await runAudit();
    } finally {
      delete process.env.AWS_LAMBDA_FUNCTION_NAME;
      write.mockRestore();
    }

    // Assess
    expect(outcome.succeeded).toBe(true);
    const emf = lines.filter((line) => line.includes('"CloudWatchMetrics"')).map((line) => JSON.parse(line) as Record<string, unknown> & { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] } });
    const uncovered = emf.find((document) => 'AuditUncoveredVirtualMachines' in document);
    expect(uncovered).toMatchObject({ Target: SANDBOX_PROXBOX_TARGET, AuditUncoveredVirtualMachines: LARGE.uncovered.length, AuditVirtualMachinesInScope: LARGE.inScope });
    expect(uncovered?._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'offsite', Dimensions: [['Target']] });
    const findings = emf.filter((document) => 'AuditFindings' in document);
    expect(findings.map((document) => document.Severity)).toEqual(['critical', 'warning', 'info']);
    expect(findings[0]?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['Target', 'Severity']]);
  });

  test('the sandbox estate without a backups endpoint: the audit succeeds and says freshness could not be checked', async () => {
    // Prepare
    const saved = { ...sandbox.netboxProxbox.estate };
    restoreEstate({ ...sandboxEstate(), missingEndpoints: ['plugins/proxbox/backups/'] });

    // Act
    let outcome: LifecycleOutcome;
    try {
      outcome = await runAudit();
    } finally {
      restoreEstate(saved);
    }

    // Assess
    expect(outcome.succeeded).toBe(true);
    const report = await reportOf(outcome);
    expect(report.uncovered.map((vm) => vm.name)).toEqual(SANDBOX_UNCOVERED);
    expect(report.findings.filter((finding) => finding.code.startsWith('backup-')).map((finding) => finding.code)).toEqual(['backup-freshness-unknown']);
  });

  test('a VM list whose next ends before its count is reached fails the audit as InconsistentPagination: no report, never a verdict', async () => {
    // Prepare
    sandbox.netboxProxbox.endListsEarly('virtual-machines', 3000);

    // Act
    let outcome: LifecycleOutcome;
    try {
      outcome = await runAudit();
    } finally {
      sandbox.netboxProxbox.endListsEarly(undefined);
    }

    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error: 'InconsistentPagination' });
    expect(outcome.cause).toContain(`the pages held 3000 distinct objects, but NetBox's count on the last page`);
    expect(outcome.path).toEqual(['ReadVirtualMachines', 'AuditFailed']);
  });

  test('a body cut off mid-stream is retried as transient, and after the retries the reason says what happened', async () => {
    // Prepare: every try of the routines list breaks off (the first and the five retries).
    sandbox.netboxProxbox.cutBodies({ pathIncludes: 'backup-routines' }, 6);

    // Act
    const outcome = await runAudit();

    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error: 'TransientApiError' });
    expect(outcome.retries.ReadBackupRoutines).toBe(5);
    expect(outcome.cause).toContain('list Proxbox backup routines failed: the connection broke while NetBox was sending its answer');
  });

  test('a NetBox without the Proxbox plugin fails the audit saying the plugin is not installed', async () => {
    // Prepare
    sandbox.netboxProxbox.installPlugins({ netbox_topology_views: '4.2.0' });

    // Act
    let outcome: LifecycleOutcome;
    try {
      outcome = await runAudit();
    } finally {
      sandbox.netboxProxbox.installPlugins({ netbox_proxbox: '0.0.24' });
    }

    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error: 'VendorApiError' });
    expect(outcome.cause).toContain('The Proxbox plugin (netbox_proxbox) is not installed on this NetBox 4.5.10: its /api/status/ lists the plugins netbox_topology_views');
    expect(outcome.path).toEqual(['ReadVirtualMachines', 'ReadVmLinks', 'AuditFailed']);
  });

  test('a Proxbox without the backup-routines endpoint fails the audit naming the installed version', async () => {
    // Prepare
    const saved = { ...sandbox.netboxProxbox.estate };
    sandbox.netboxProxbox.installPlugins({ netbox_proxbox: '0.0.9' });
    restoreEstate({ ...sandboxEstate(), missingEndpoints: ['plugins/proxbox/backup-routines/'] });

    // Act
    let outcome: LifecycleOutcome;
    try {
      outcome = await runAudit();
    } finally {
      restoreEstate(saved);
      sandbox.netboxProxbox.installPlugins({ netbox_proxbox: '0.0.24' });
    }

    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error: 'VendorApiError' });
    expect(outcome.cause).toContain('the installed Proxbox 0.0.9 has no plugins/proxbox/backup-routines/ endpoint');
  });

  test('a token without permission fails the audit as NotAuthorized, quoting the X-Request-ID, retried never', async () => {
    // Prepare
    sandbox.netboxProxbox.denyPermission('backup-routines');

    // Act
    const outcome = await runAudit();

    // Assess
    const refused = sandbox.netboxProxbox.requests.filter((request) => request.status === 403);
    expect(outcome).toMatchObject({ succeeded: false, error: 'NotAuthorized' });
    expect(outcome.cause).toContain(`X-Request-ID ${refused[0]?.requestId ?? 'none'}`);
    expect(outcome.cause).not.toContain(sandbox.netboxProxbox.token);
    expect(refused).toHaveLength(1);
    expect(outcome.path.at(-1)).toBe('AuditFailed');
  });
});

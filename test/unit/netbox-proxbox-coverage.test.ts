import { backupFile, backupRoutine, replication, sandboxEstate, SANDBOX_UNCOVERED, syncStateRow, virtualMachine, type RoutineSpec, type VmSpec } from '../../bin/sandbox/netbox-proxbox/estate';
import type { CoveragePolicy } from '../../functions/kinds/netbox-proxbox/config';
import { computeCoverage, type AuditReport, type BackupsRead } from '../../functions/kinds/netbox-proxbox/coverage';
import { backupRecord, replicationRecord, routineRecord, vmLinkRecord, vmRecord, type VmLinkRecord } from '../../functions/kinds/netbox-proxbox/records';

const NOW = new Date('2026-04-02T06:00:00Z');
const POLICY: CoveragePolicy = { requireReplication: false, ignoreTags: [] };

interface Case {
  vms: VmSpec[];
  routines: RoutineSpec[];
  policy?: Partial<CoveragePolicy>;
  replications?: Record<string, unknown>[];
  backups?: BackupsRead | Record<string, unknown>[];
}

function audit({ vms, routines, policy = {}, replications = [], backups = [] }: Case): AuditReport {
  return computeCoverage({
    target: 'dc1',
    generatedAt: NOW,
    policy: { ...POLICY, ...policy },
    vms: vms.map((vm) => vmRecord(virtualMachine(vm))),
    links: vms.map((vm, index) => syncStateRow(vm, index + 1)).flatMap((row) => {
      const link = row ? vmLinkRecord(row) : null;
      return link ? [link] : ([] as VmLinkRecord[]);
    }),
    routines: routines.map((routine) => routineRecord(backupRoutine(routine))),
    replications: replications.map(replicationRecord),
    backups: Array.isArray(backups) ? { available: true, backups: backups.map(backupRecord) } : backups,
  });
}

const uncoveredNames = (report: AuditReport): string[] => report.uncovered.map((vm) => vm.name);
const codesOf = (report: AuditReport, subject?: string): string[] => report.findings.filter((finding) => subject === undefined || finding.subject === subject).map((finding) => finding.code);

const vm = (id: number, overrides: Partial<VmSpec> = {}): VmSpec => ({ id, name: `vm-${id}`, link: 'sync-state', vmid: 100 + id, node: 'pve-node-01', ...overrides });

describe('scope', () => {
  test('the VMID comes from the sync-state row, else proxmox_vm_id, else proxmox_id; a VM without any is out of scope and never reported', () => {
    // Prepare
    const vms = [vm(1), vm(2, { link: 'proxmox_vm_id' }), vm(3, { link: 'proxmox_id' }), vm(4, { link: 'none' })];

    // Act
    const report = audit({ vms, routines: [{ id: 1, jobId: 'job', selection: [101, 102, 103] }] });

    // Assess
    expect(report.virtualMachines).toBe(3);
    expect(report.covered).toBe(3);
    expect(report.rows.map((row) => [row.name, row.vmid])).toEqual([
      ['vm-1', 101],
      ['vm-2', 102],
      ['vm-3', 103],
    ]);
    expect(JSON.stringify(report.findings)).not.toContain('vm-4');
  });

  test('the sync-state row wins over a stale custom field', () => {
    // Prepare
    const record = vmRecord({ ...virtualMachine(vm(1)), custom_fields: { proxmox_vm_id: 999 } });
    const link = vmLinkRecord(syncStateRow(vm(1), 1));

    // Act
    const report = computeCoverage({ target: 'dc1', generatedAt: NOW, policy: POLICY, vms: [record], links: link ? [link] : [], routines: [routineRecord(backupRoutine({ id: 1, jobId: 'job', selection: [101] }))], replications: [], backups: { available: true, backups: [] } });

    // Assess
    expect(report.uncovered).toEqual([]);
  });

  test('a VM with an ignore tag (by name or slug) is out of scope: not counted, not reported', () => {
    // Prepare
    const vms = [vm(1, { tags: ['No Backup'] }), vm(2, { tags: ['scratch'] }), vm(3)];

    // Act
    const report = audit({ vms, routines: [], policy: { ignoreTags: ['no-backup', 'scratch'], requireReplication: true } });

    // Assess
    expect(report.virtualMachines).toBe(1);
    expect(uncoveredNames(report)).toEqual(['vm-3']);
    expect(report.findings.map((finding) => finding.subject).sort()).toEqual(['vm-3', 'vm-3']);
  });
});

describe('selection', () => {
  test('all minus exclude covers every guest except the excluded', () => {
    // Act
    const report = audit({ vms: [vm(1), vm(2), vm(3)], routines: [{ id: 1, jobId: 'all', rawConfig: { all: 1, exclude: '102,103' } }] });

    // Assess
    expect(uncoveredNames(report)).toEqual(['vm-2', 'vm-3']);
    expect(report.uncovered[0]?.reasons).toEqual(['no backup routine selects VMID 102']);
  });

  test('with routines on two Proxmox clusters, a VM whose cluster NetBox does not record is not covered by either cluster\'s routine, and says why', () => {
    // Prepare: cluster 1 backs up everything; cluster 2 has nothing. vm-2 is linked only by the custom field (no endpoint known).
    const vms = [vm(1), vm(2, { link: 'proxmox_vm_id' })];
    const clusterOne = routineRecord(backupRoutine({ id: 1, jobId: 'c1-all', rawConfig: { all: 1 } }));
    const clusterTwo = routineRecord({ ...backupRoutine({ id: 2, jobId: 'c2-one', selection: [999] }), endpoint: { id: 2, name: 'lab-proxmox' } });

    // Act
    const report = computeCoverage({
      target: 'dc1',
      generatedAt: NOW,
      policy: POLICY,
      vms: vms.map((spec) => vmRecord(virtualMachine(spec))),
      links: vms.map((spec, index) => syncStateRow(spec, index + 1)).flatMap((row) => {
        const link = row ? vmLinkRecord(row) : null;
        return link ? [link] : ([] as VmLinkRecord[]);
      }),
      routines: [clusterOne, clusterTwo],
      replications: [],
      backups: { available: true, backups: [] },
    });

    // Assess
    expect(uncoveredNames(report)).toEqual(['vm-2']);
    expect(report.uncovered[0]?.reasons[0]).toContain('NetBox does not record which Proxmox cluster the VM is on');
  });

  test('a node-limited routine covers only guests on its node, and says so for the others', () => {
    // Act
    const report = audit({ vms: [vm(1), vm(2, { node: 'pve-node-02' })], routines: [{ id: 1, jobId: 'node1', node: 'pve-node-01', selection: [101, 102] }] });

    // Assess
    expect(uncoveredNames(report)).toEqual(['vm-2']);
    expect(report.uncovered[0]?.reasons[0]).toContain('runs only for guests on node pve-node-01');
  });

  test('a pool routine covers the VMs whose pool is known to be that pool; pool wins over the VMID list', () => {
    // Prepare
    const vms = [vm(1, { link: 'proxmox_vm_id', pool: 'prod' }), vm(2, { link: 'proxmox_vm_id', pool: 'test' }), vm(3, { link: 'proxmox_vm_id' })];

    // Act
    const report = audit({ vms, routines: [{ id: 1, jobId: 'pool', rawConfig: { pool: 'prod' }, selection: [102] }] });

    // Assess
    expect(uncoveredNames(report)).toEqual(['vm-2', 'vm-3']);
    expect(report.uncovered.find((entry) => entry.name === 'vm-3')?.reasons).toEqual(['no backup routine selects VMID 103', expect.stringContaining('NetBox does not record which pool')]);
  });

  test('disabled, stale and unscheduled routines are findings and give no cover', () => {
    // Prepare
    const routines: RoutineSpec[] = [
      { id: 1, jobId: 'off', enabled: false, selection: [101] },
      { id: 2, jobId: 'gone', status: 'stale', selection: [102] },
      { id: 3, jobId: 'never', schedule: '', selection: [103] },
    ];

    // Act
    const report = audit({ vms: [vm(1), vm(2), vm(3)], routines });

    // Assess
    expect(uncoveredNames(report)).toEqual(['vm-1', 'vm-2', 'vm-3']);
    expect([codesOf(report, 'off'), codesOf(report, 'gone'), codesOf(report, 'never')]).toEqual([['routine-disabled'], ['routine-stale'], ['routine-unscheduled']]);
    expect(report.uncovered[0]?.reasons).toEqual(['off selects it but is disabled']);
    expect(report.findings.find((finding) => finding.code === 'vm-uncovered')?.severity).toBe('critical');
  });

  test('a selection naming a VMID no NetBox VM is linked to is a finding; an ignored VM counts as known', () => {
    // Act
    const report = audit({ vms: [vm(1), vm(2, { tags: ['skip'] })], routines: [{ id: 1, jobId: 'job', selection: [101, 102, 555] }], policy: { ignoreTags: ['skip'] } });

    // Assess
    expect(report.findings.filter((finding) => finding.code === 'selection-unknown-vmid')).toEqual([
      { severity: 'warning', code: 'selection-unknown-vmid', subject: 'job', message: expect.stringContaining('555') },
    ]);
    expect(report.findings.find((finding) => finding.code === 'selection-unknown-vmid')?.message).not.toContain('102');
  });
});

describe('policy', () => {
  test('retention below coverage.minimumRetention is a finding, an unset keep option counting as 0', () => {
    // Act
    const report = audit({
      vms: [vm(1)],
      routines: [
        { id: 1, jobId: 'short', selection: [101], keep: { keep_daily: 3 } },
        { id: 2, jobId: 'enough', selection: [101], keep: { keep_daily: 7, keep_weekly: 4 } },
      ],
      policy: { minimumRetention: { keepDaily: 7, keepWeekly: 2 } },
    });

    // Assess
    expect(report.findings.filter((finding) => finding.code === 'retention-below-minimum').map((finding) => [finding.subject, finding.message])).toEqual([
      ['short', expect.stringContaining('keep-daily 3 < 7, keep-weekly 0 < 2')],
    ]);
  });

  test('a covered VM whose newest backup is older than maxBackupAgeHours is a finding, not uncovered; lingering old rows do not hide a new one', () => {
    // Prepare
    const vms = [vm(1), vm(2), vm(3)];
    const hoursAgo = (hours: number): Date => new Date(NOW.getTime() - hours * 3_600_000);
    const backups = [backupFile(1, vms[0] as VmSpec, hoursAgo(2)), backupFile(2, vms[0] as VmSpec, hoursAgo(900)), backupFile(3, vms[1] as VmSpec, hoursAgo(30))];

    // Act
    const report = audit({ vms, routines: [{ id: 1, jobId: 'job', selection: [101, 102, 103] }], backups, policy: { maxBackupAgeHours: 26 } });

    // Assess
    expect(report.uncovered).toEqual([]);
    expect(report.findings.filter((finding) => finding.code === 'backup-too-old').map((finding) => finding.subject)).toEqual(['vm-2', 'vm-3']);
  });

  test('without the backups endpoint freshness is one finding that it could not be checked', () => {
    // Act
    const report = audit({ vms: [vm(1)], routines: [{ id: 1, jobId: 'job', selection: [101] }], backups: { available: false, reason: 'no endpoint (404)' }, policy: { maxBackupAgeHours: 26 } });

    // Assess
    expect(report.findings).toEqual([{ severity: 'warning', code: 'backup-freshness-unknown', subject: 'dc1', message: expect.stringContaining('no endpoint (404)') }]);
  });

  test('with requireReplication a VM without an active replication is a finding; a disabled one does not count', () => {
    // Prepare
    const vms = [vm(1), vm(2), vm(3)];

    // Act
    const report = audit({
      vms,
      routines: [{ id: 1, jobId: 'job', selection: [101, 102, 103] }],
      replications: [replication(1, vms[0] as VmSpec), replication(2, vms[1] as VmSpec, { disable: true })],
      policy: { requireReplication: true },
    });

    // Assess
    expect(report.findings.filter((finding) => finding.code === 'replication-missing').map((finding) => finding.subject)).toEqual(['vm-2', 'vm-3']);
    expect(report.rows.map((row) => row.replication)).toEqual(['active', 'inactive', 'none']);
  });
});

test('the sandbox estate: exactly the expected uncovered VMs and every kind of finding', () => {
  // Prepare
  const estate = sandboxEstate(NOW);

  // Act
  const report = computeCoverage({
    target: 'sandbox',
    generatedAt: NOW,
    policy: { requireReplication: false, maxBackupAgeHours: 26, minimumRetention: { keepDaily: 7 }, ignoreTags: ['no-backup'] },
    vms: estate.virtualMachines.map(vmRecord),
    links: estate.syncState.map(vmLinkRecord).filter((link): link is VmLinkRecord => link !== null),
    routines: estate.backupRoutines.map(routineRecord),
    replications: estate.replications.map(replicationRecord),
    backups: { available: true, backups: estate.backups.map(backupRecord) },
  });

  // Assess
  expect(uncoveredNames(report)).toEqual(SANDBOX_UNCOVERED);
  expect(report.virtualMachines).toBe(9);
  expect(codesOf(report, 'backup-node2-all')).toEqual(['retention-below-minimum']);
  expect(codesOf(report, 'db-01')).toEqual(['backup-too-old']);
});

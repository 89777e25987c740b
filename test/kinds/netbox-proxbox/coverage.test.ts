import { backupFile, backupRoutine, proxmoxCluster, replication, sandboxEstate, SANDBOX_UNCOVERED, syncStateRow, virtualMachine, type RoutineSpec, type VmSpec } from '../../../bin/sandbox/netbox-proxbox/estate';
import type { CoveragePolicy } from '../../../functions/kinds/netbox-proxbox/config';
import { computeCoverage, type AuditReport, type BackupsRead } from '../../../functions/kinds/netbox-proxbox/coverage';
import { backupRecord, proxmoxClusterRecord, replicationRecord, routineRecord, vmLinkRecord, vmRecord, type ProxmoxClusterRecord, type VmLinkRecord } from '../../../functions/kinds/netbox-proxbox/records';

const NOW = new Date('2026-04-02T06:00:00Z');
const POLICY: CoveragePolicy = { requireReplication: false, ignoreTags: [] };

interface Case {
  vms: VmSpec[];
  routines: RoutineSpec[];
  policy?: Partial<CoveragePolicy>;
  replications?: Record<string, unknown>[];
  backups?: BackupsRead | Record<string, unknown>[];
  /** The Proxmox endpoints whose ProxmoxCluster row ties their NetBox cluster to them (default: every endpoint used). */
  clusters?: number[];
}

const clusterRecords = (endpoints: readonly number[]): ProxmoxClusterRecord[] => endpoints.map((endpoint) => proxmoxClusterRecord(proxmoxCluster(endpoint))).filter((row): row is ProxmoxClusterRecord => row !== null);

function audit({ vms, routines, policy = {}, replications = [], backups = [], clusters }: Case): AuditReport {
  const endpoints = clusters ?? [...new Set([...vms.map((spec) => spec.endpoint ?? 1), ...routines.map((spec) => spec.endpoint ?? 1)])];
  return computeCoverage({
    target: 'dc1',
    generatedAt: NOW,
    policy: { ...POLICY, ...policy },
    vms: vms.map((vm) => vmRecord(virtualMachine(vm))),
    links: vms.map((vm, index) => syncStateRow(vm, index + 1)).flatMap((row) => {
      const link = row ? vmLinkRecord(row) : null;
      return link ? [link] : ([] as VmLinkRecord[]);
    }),
    clusters: clusterRecords(endpoints),
    proxboxVersion: '0.0.24',
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
    const report = computeCoverage({ target: 'dc1', generatedAt: NOW, policy: POLICY, vms: [record], links: link ? [link] : [], clusters: [], proxboxVersion: null, routines: [routineRecord(backupRoutine({ id: 1, jobId: 'job', selection: [101] }))], replications: [], backups: { available: true, backups: [] } });

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
    expect(report.findings.filter((finding) => finding.code !== 'selection-unstorable').map((finding) => finding.subject).sort()).toEqual(['vm-3', 'vm-3']);
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

  test('with routines on two Proxmox clusters, a VM whose NetBox cluster no ProxmoxCluster row ties to an endpoint is not covered by either cluster\'s routine, and says why', () => {
    // Prepare: cluster 1 backs up everything; cluster 2 has nothing. vm-2 is linked only by the custom field, and no ProxmoxCluster row exists.
    const vms = [vm(1), vm(2, { link: 'proxmox_vm_id' })];
    const routines: RoutineSpec[] = [
      { id: 1, jobId: 'c1-all', rawConfig: { all: 1 } },
      { id: 2, jobId: 'c2-one', selection: [999], endpoint: 2 },
    ];

    // Act
    const report = audit({ vms, routines, clusters: [] });

    // Assess
    expect(uncoveredNames(report)).toEqual(['vm-2']);
    expect(report.uncovered[0]?.reasons[0]).toContain('NetBox does not record which Proxmox cluster the VM is on (its NetBox cluster prod-cluster is tied to no Proxmox endpoint');
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
    clusters: estate.proxmoxClusters.map(proxmoxClusterRecord).filter((row): row is ProxmoxClusterRecord => row !== null),
    proxboxVersion: '0.0.24',
    routines: estate.backupRoutines.map(routineRecord),
    replications: estate.replications.map(replicationRecord),
    backups: { available: true, backups: estate.backups.map(backupRecord) },
  });

  // Assess
  expect(uncoveredNames(report)).toEqual(SANDBOX_UNCOVERED);
  expect(report.virtualMachines).toBe(10);
  expect(codesOf(report, 'backup-node2')).toEqual(['retention-below-minimum']);
  expect(codesOf(report, 'db-01')).toEqual(['backup-too-old']);
  // The other cluster's VMID 100 is covered by its own routine, and web-01's backups are not its own.
  expect(report.rows.find((row) => row.name === 'edge-01')).toMatchObject({ covered: true, routines: ['backup-lab'], newestBackupAt: null, findings: ['backup-too-old'] });
  expect(codesOf(report, 'sandbox')).toEqual(['selection-unstorable']);
});

// What a real NetBox 4.5.10 with netbox-proxbox 0.0.24 returned, after the shapes proxbox-api's sync writes.
const REAL_ROUTINE = {
  id: 1,
  endpoint: { id: 1, url: 'http://127.0.0.1:47281/api/plugins/proxbox/endpoints/proxmox/1/', display: 'pve-a', name: 'pve-a' },
  job_id: 'backup-x',
  enabled: true,
  schedule: '02:00',
  next_run: null,
  node: null,
  storage: null,
  selection: [101, 102],
  status: { value: 'active', label: 'Active' },
  keep_last: null,
  keep_daily: null,
  keep_weekly: null,
  keep_monthly: null,
  keep_yearly: null,
  keep_all: null,
  raw_config: { id: 'backup-x', node: 'pve1-b', vmid: '101,102', 'prune-backups': 'keep-daily=7,keep-last=3' },
};

describe('the real plugin\'s shapes (issue: three wrong verdicts against a real NetBox)', () => {
  test('a routine stored by the sync (node null, the node in raw_config) covers only guests on raw_config.node', () => {
    // Prepare
    const vms = [vm(1, { node: 'pve1-a' }), vm(2, { node: 'pve1-b' })];
    const links = vms.map((spec, index) => vmLinkRecord(syncStateRow(spec, index + 1))).filter((link): link is VmLinkRecord => link !== null);

    // Act
    const report = computeCoverage({
      target: 'dc1',
      generatedAt: NOW,
      policy: POLICY,
      vms: vms.map((spec) => vmRecord(virtualMachine(spec))),
      links,
      clusters: clusterRecords([1]),
      proxboxVersion: '0.0.24',
      routines: [routineRecord(REAL_ROUTINE)],
      replications: [],
      backups: { available: true, backups: [] },
    });

    // Assess
    expect(uncoveredNames(report)).toEqual(['vm-1']);
    expect(report.uncovered[0]?.reasons).toEqual([expect.stringContaining('runs only for guests on node pve1-b; the VM is on pve1-a')]);
  });

  test('raw_config as the sync stores it: vmid a comma string, prune-backups a property string, status a {value, label}', () => {
    // Act
    const routine = routineRecord({ ...REAL_ROUTINE, selection: ['x'] });

    // Assess
    expect(routine).toMatchObject({ node: 'pve1-b', status: 'active', selection: [101, 102], endpointId: 1 });
    expect(routine.retention).toEqual({ keepLast: 3, keepHourly: null, keepDaily: 7, keepWeekly: null, keepMonthly: null, keepYearly: null, keepAll: false });
  });

  test('a VM without backups is not made fresh by the backups of another cluster\'s guest with the same VMID', () => {
    // Prepare: VMID 103 on both clusters, each covered by its own routine; only cluster 2's guest has backups.
    const onOne = vm(3, { vmid: 103 });
    const onTwo = vm(4, { vmid: 103, endpoint: 2, link: 'proxmox_vm_id' });
    const routines: RoutineSpec[] = [
      { id: 1, jobId: 'c1-daily', selection: [103] },
      { id: 2, jobId: 'c2-daily', selection: [103], endpoint: 2 },
    ];
    const backups = [backupFile(1, onTwo, new Date(NOW.getTime() - 3_600_000))];

    // Act
    const report = audit({ vms: [onOne, onTwo], routines, backups, policy: { maxBackupAgeHours: 26 } });

    // Assess
    expect(report.rows.map((row) => [row.name, row.covered, row.newestBackupAt, row.findings])).toEqual([
      ['vm-3', true, null, ['backup-too-old']],
      ['vm-4', true, new Date(NOW.getTime() - 3_600_000).toISOString(), []],
    ]);
    expect(report.findings.find((finding) => finding.code === 'backup-too-old')?.message).toContain('has no backup file recorded in NetBox');
  });

  test('a backup row that names no VM is matched by its VMID only where exactly one VM has that VMID', () => {
    // Prepare
    const unnamed = { ...backupFile(1, vm(9, { vmid: 103 }), new Date(NOW.getTime() - 3_600_000)), virtual_machine: null };
    const routines: RoutineSpec[] = [
      { id: 1, jobId: 'c1-daily', selection: [103, 105] },
      { id: 2, jobId: 'c2-daily', selection: [103], endpoint: 2 },
    ];
    const vms = [vm(3, { vmid: 103 }), vm(4, { vmid: 103, endpoint: 2, link: 'proxmox_vm_id' }), vm(5, { vmid: 105 })];
    const alone = { ...unnamed, vmid: 105 };

    // Act
    const report = audit({ vms, routines, backups: [unnamed, alone], policy: { maxBackupAgeHours: 26 } });

    // Assess
    expect(report.rows.map((row) => [row.name, row.newestBackupAt !== null])).toEqual([
      ['vm-3', false],
      ['vm-4', false],
      ['vm-5', true],
    ]);
  });

  test('a VM linked only by the custom field gets its Proxmox endpoint from its NetBox cluster\'s ProxmoxCluster row, with routines on two clusters', () => {
    // Prepare: VMID 101 on both clusters; the cluster-2 guest is linked only by proxmox_vm_id.
    const vms = [vm(1, { vmid: 101 }), vm(2, { vmid: 101, endpoint: 2, link: 'proxmox_vm_id' }), vm(3, { vmid: 102, endpoint: 2, link: 'proxmox_vm_id' })];
    const routines: RoutineSpec[] = [
      { id: 1, jobId: 'c1-daily', selection: [101, 102] },
      { id: 2, jobId: 'c2-daily', selection: [101], endpoint: 2 },
    ];

    // Act
    const report = audit({ vms, routines });

    // Assess: vm-3 (102 on cluster 2) is not covered by cluster 1's routine naming 102.
    expect(report.rows.map((row) => [row.name, row.routines])).toEqual([
      ['vm-1', ['c1-daily']],
      ['vm-2', ['c2-daily']],
      ['vm-3', []],
    ]);
    expect(report.uncovered).toEqual([{ name: 'vm-3', vmid: 102, reasons: ['no backup routine selects VMID 102'] }]);
  });

  test('uncovered VMs and no routine on all or a pool: one finding that this Proxbox cannot store such a job, naming its version', () => {
    // Act
    const gaps = audit({ vms: [vm(1), vm(2)], routines: [{ id: 1, jobId: 'job', selection: [101] }] });
    const none = audit({ vms: [vm(1)], routines: [{ id: 1, jobId: 'job', selection: [101] }] });
    const stored = audit({ vms: [vm(1), vm(2)], routines: [{ id: 1, jobId: 'all', rawConfig: { all: 1, exclude: '102' } }] });

    // Assess
    expect(gaps.findings.filter((finding) => finding.code === 'selection-unstorable')).toEqual([
      { severity: 'warning', code: 'selection-unstorable', subject: 'dc1', message: expect.stringContaining('Proxbox 0.0.24 (as NetBox\'s /api/status/ names it) stores a backup routine only with a list of VMIDs') },
    ]);
    expect(codesOf(none)).toEqual([]);
    expect(codesOf(stored)).toEqual(['vm-uncovered']);
  });
});

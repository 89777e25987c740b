// What the NetBox + Proxbox simulator serves: objects shaped as the documents show them,
// builders for them, the sandbox's small estate (every selection style and finding), and
// a large generated estate for the 5,000-VM test and the benchmark.

export type Json = Record<string, unknown>;

export interface NetboxEstate {
  virtualMachines: Json[];
  syncState: Json[];
  backupRoutines: Json[];
  replications: Json[];
  backups: Json[];
  /** Paths (e.g. "plugins/proxbox/backups/") answered 404, as on a Proxbox without them. */
  missingEndpoints: string[];
}

const ENDPOINT = { id: 1, url: '/api/plugins/proxbox/endpoints/proxmox/1/', display: 'prod-proxmox (proxmox.example.com)', name: 'prod-proxmox' };
const CLUSTER = { id: 5, url: '/api/virtualization/clusters/5/', display: 'prod-cluster', name: 'prod-cluster' };

function node(name: string, id: number): Json {
  return { id, url: `/api/plugins/proxbox/nodes/${id}/`, display: name, name, node_id: id, online: true };
}

export interface VmSpec {
  id: number;
  name: string;
  /** How NetBox links it to its VMID: the sync-state row, the custom field proxmox_vm_id, the older proxmox_id, or not at all. */
  link: 'sync-state' | 'proxmox_vm_id' | 'proxmox_id' | 'none';
  vmid?: number;
  node?: string;
  tags?: string[];
  pool?: string;
}

export function virtualMachine(spec: VmSpec): Json {
  const custom: Json = { proxmox_vm_id: null, proxmox_id: null };
  if (spec.link === 'proxmox_vm_id') custom.proxmox_vm_id = spec.vmid ?? null;
  // The oldest Proxbox wrote it as text.
  if (spec.link === 'proxmox_id') custom.proxmox_id = spec.vmid === undefined ? null : String(spec.vmid);
  if (spec.pool !== undefined) custom.proxmox_pool = spec.pool;
  return {
    id: spec.id,
    url: `/api/virtualization/virtual-machines/${spec.id}/`,
    display: spec.name,
    name: spec.name,
    status: { value: 'active', label: 'Active' },
    cluster: CLUSTER,
    device: spec.node ? { id: 100 + spec.id, url: `/api/dcim/devices/${100 + spec.id}/`, name: spec.node, display: spec.node } : null,
    tags: (spec.tags ?? []).map((tag, index) => ({ id: index + 1, url: `/api/extras/tags/${index + 1}/`, display: tag, name: tag, slug: tag.toLowerCase().replace(/[^a-z0-9]+/g, '-') })),
    custom_fields: custom,
    created: '2026-01-01T00:00:00Z',
    last_updated: '2026-04-01T00:00:00Z',
  };
}

export function syncStateRow(spec: VmSpec, rowId: number): Json | undefined {
  if (spec.link !== 'sync-state' || spec.vmid === undefined) return undefined;
  return {
    id: rowId,
    url: `/api/plugins/proxbox/sync-state/virtual-machines/${rowId}/`,
    virtual_machine: { id: spec.id, url: `/api/virtualization/virtual-machines/${spec.id}/`, display: spec.name, name: spec.name },
    proxmox_vm_id: spec.vmid,
    proxmox_vm_type: 'qemu',
    proxmox_node_name: spec.node ?? null,
    proxmox_cluster_name: 'prod-cluster',
    endpoint: ENDPOINT,
  };
}

export interface RoutineSpec {
  id: number;
  jobId: string;
  enabled?: boolean;
  status?: 'active' | 'stale';
  schedule?: string;
  node?: string;
  selection?: number[];
  rawConfig?: Json;
  keep?: Partial<Record<'keep_last' | 'keep_daily' | 'keep_weekly' | 'keep_monthly' | 'keep_yearly', number>>;
}

export function backupRoutine(spec: RoutineSpec): Json {
  const status = spec.status ?? 'active';
  return {
    id: spec.id,
    url: `/api/plugins/proxbox/backup-routines/${spec.id}/`,
    display: `${spec.jobId} (${spec.schedule ?? 'daily'})`,
    endpoint: ENDPOINT,
    job_id: spec.jobId,
    enabled: spec.enabled ?? true,
    schedule: spec.schedule ?? '0 2 * * *',
    next_run: spec.schedule === '' ? null : '2026-04-02T02:00:00Z',
    node: spec.node ? node(spec.node, spec.node === 'pve-node-01' ? 1 : 2) : null,
    storage: { id: 2, url: '/api/plugins/proxbox/storage/2/', display: 'backup-storage', cluster: { id: 5, name: 'prod-cluster' }, name: 'backup-storage' },
    selection: spec.selection ?? [],
    comment: '',
    status: { value: status, label: status === 'active' ? 'Active' : 'Stale' },
    keep_last: null,
    keep_daily: null,
    keep_weekly: null,
    keep_monthly: null,
    keep_yearly: null,
    keep_all: null,
    ...spec.keep,
    notes_template: '',
    bwlimit: null,
    zstd: null,
    io_workers: null,
    fleecing: false,
    fleecing_storage: null,
    repeat_missed: false,
    pbs_change_detection_mode: '',
    raw_config: { compress: 'zstd', mode: 'snapshot', ...spec.rawConfig },
    tags: [],
    custom_fields: {},
    created: '2026-01-01T00:00:00Z',
    last_updated: '2026-04-01T00:00:00Z',
  };
}

export function replication(id: number, vm: VmSpec, options: { disable?: boolean; status?: 'active' | 'stale' } = {}): Json {
  const status = options.status ?? 'active';
  return {
    id,
    url: `/api/plugins/proxbox/replications/${id}/`,
    display: `${vm.vmid ?? 0}-0 (${vm.name} → pve-node-02)`,
    endpoint: ENDPOINT,
    replication_id: `${vm.vmid ?? 0}-0`,
    virtual_machine: { id: vm.id, url: `/api/virtualization/virtual-machines/${vm.id}/`, display: vm.name, name: vm.name },
    proxmox_node: node('pve-node-01', 1),
    guest: vm.vmid ?? null,
    target: 'pve-node-02',
    job_type: { value: 'local', label: 'Local' },
    schedule: '*/15',
    rate: null,
    comment: '',
    disable: options.disable ?? false,
    source: 'pve-node-01',
    jobnum: 0,
    remove_job: null,
    status: { value: status, label: status === 'active' ? 'Active' : 'Stale' },
    raw_config: { type: 'local' },
    tags: [],
    custom_fields: {},
  };
}

export function backupFile(id: number, vm: VmSpec, createdAt: Date): Json {
  return {
    id,
    url: `/api/plugins/proxbox/backups/${id}/`,
    virtual_machine: { id: vm.id, url: `/api/virtualization/virtual-machines/${vm.id}/`, display: vm.name, name: vm.name },
    vmid: vm.vmid ?? null,
    creation_time: createdAt.toISOString(),
    size: 2_147_483_648,
    format: 'pbs-vm',
    storage: 'backup-storage',
    verification_state: 'ok',
  };
}

export function estateOf(vms: VmSpec[], routines: RoutineSpec[]): NetboxEstate {
  return {
    virtualMachines: vms.map(virtualMachine),
    syncState: vms.map((vm, index) => syncStateRow(vm, index + 1)).filter((row): row is Json => row !== undefined),
    backupRoutines: routines.map(backupRoutine),
    replications: [],
    backups: [],
    missingEndpoints: [],
  };
}

/** The sandbox's VMs, by name. */
export const SANDBOX_VMS: Record<string, VmSpec> = {
  web01: { id: 1, name: 'web-01', link: 'sync-state', vmid: 100, node: 'pve-node-01' },
  web02: { id: 2, name: 'web-02', link: 'sync-state', vmid: 101, node: 'pve-node-01' },
  db01: { id: 3, name: 'db-01', link: 'proxmox_vm_id', vmid: 102 },
  app01: { id: 4, name: 'app-01', link: 'sync-state', vmid: 110, node: 'pve-node-02' },
  app02: { id: 5, name: 'app-02', link: 'sync-state', vmid: 111, node: 'pve-node-02' },
  scratch01: { id: 6, name: 'scratch-01', link: 'sync-state', vmid: 120, node: 'pve-node-02', tags: ['no-backup'] },
  template01: { id: 7, name: 'template-01', link: 'none' },
  legacy01: { id: 8, name: 'legacy-01', link: 'proxmox_id', vmid: 130 },
  batch01: { id: 9, name: 'batch-01', link: 'sync-state', vmid: 140, node: 'pve-node-01' },
  lab01: { id: 10, name: 'lab-01', link: 'sync-state', vmid: 150, node: 'pve-node-01' },
  pool01: { id: 11, name: 'pool-01', link: 'proxmox_vm_id', vmid: 160, pool: 'prod' },
};

/** The VMs the sandbox estate leaves without working cover, and why (as the audit should find). */
export const SANDBOX_UNCOVERED = ['app-02', 'batch-01', 'lab-01', 'legacy-01'];

/**
 * Every selection style and every finding: VMIDs, all-minus-exclude on one node, a pool,
 * a disabled, a stale and an unscheduled routine, a retention below the minimum, an
 * unknown VMID, a too-old backup, an ignored and an unlinked VM, replications.
 */
export function sandboxEstate(now: Date = new Date()): NetboxEstate {
  const vm = SANDBOX_VMS;
  const routines: RoutineSpec[] = [
    { id: 1, jobId: 'backup-daily', selection: [100, 101, 102, 199], keep: { keep_daily: 7, keep_weekly: 4 } },
    // app-02 (111) is excluded; lab-01 would match "all" but runs on the other node.
    { id: 2, jobId: 'backup-node2-all', node: 'pve-node-02', rawConfig: { all: 1, exclude: '111' }, keep: { keep_daily: 3 } },
    { id: 3, jobId: 'backup-legacy', enabled: false, selection: [130], keep: { keep_daily: 7 } },
    { id: 4, jobId: 'backup-batch', status: 'stale', selection: [140], keep: { keep_daily: 7 } },
    { id: 5, jobId: 'backup-prod-pool', schedule: 'sat 02:00', rawConfig: { pool: 'prod' }, keep: { keep_last: 10, keep_daily: 7 } },
    { id: 6, jobId: 'backup-manual', schedule: '', selection: [100], keep: { keep_daily: 7 } },
  ];
  const estate = estateOf(Object.values(vm), routines);
  estate.replications = [replication(1, vm.web01 as VmSpec), replication(2, vm.db01 as VmSpec, { disable: true })];
  const hoursAgo = (hours: number): Date => new Date(now.getTime() - hours * 3_600_000);
  estate.backups = [
    backupFile(1, vm.web01 as VmSpec, hoursAgo(2)),
    backupFile(2, vm.web02 as VmSpec, hoursAgo(3)),
    backupFile(3, vm.db01 as VmSpec, hoursAgo(50)),
    backupFile(4, vm.app01 as VmSpec, hoursAgo(5)),
    backupFile(5, vm.pool01 as VmSpec, hoursAgo(10)),
    // A lingering row of a file deleted long ago.
    backupFile(6, vm.web01 as VmSpec, hoursAgo(24 * 40)),
  ];
  return estate;
}

/** A routine the sandbox adds to show the audit pass: every guest, on every node. */
export function coverEverythingRoutine(id: number): Json {
  return backupRoutine({ id, jobId: 'backup-everything', rawConfig: { all: 1 }, keep: { keep_daily: 7 } });
}

export interface LargeEstate {
  readonly estate: NetboxEstate;
  /** VMs in scope (not ignored, linked to a VMID). */
  readonly inScope: number;
  readonly uncovered: readonly string[];
}

/**
 * `vmCount` VMs over `routineCount` routines, each routine selecting one block of VMIDs;
 * the links rotate over the three forms, every 10th VM is ignored by tag, and the first
 * routine is disabled, so its block is uncovered.
 */
export function largeEstate(vmCount: number, routineCount: number, now: Date = new Date()): LargeEstate {
  const vms: VmSpec[] = [];
  const forms: VmSpec['link'][] = ['sync-state', 'proxmox_vm_id', 'proxmox_id'];
  for (let index = 0; index < vmCount; index += 1) {
    vms.push({
      id: index + 1,
      name: `vm-${String(index + 1).padStart(5, '0')}`,
      link: forms[index % forms.length] ?? 'sync-state',
      vmid: 1000 + index,
      node: index % 2 === 0 ? 'pve-node-01' : 'pve-node-02',
      ...(index % 10 === 9 ? { tags: ['no-backup'] } : {}),
    });
  }
  const block = Math.ceil(vmCount / routineCount);
  const routines: RoutineSpec[] = [];
  for (let routine = 0; routine < routineCount; routine += 1) {
    const selection = vms.slice(routine * block, (routine + 1) * block).map((vm) => vm.vmid ?? 0);
    routines.push({ id: routine + 1, jobId: `job-${routine + 1}`, enabled: routine !== 0, selection, keep: { keep_daily: 7 } });
  }
  const estate = estateOf(vms, routines);
  estate.backups = vms.map((vm, index) => backupFile(index + 1, vm, new Date(now.getTime() - 3_600_000)));
  const ignored = (vm: VmSpec): boolean => (vm.tags ?? []).length > 0;
  const uncovered = vms.slice(0, block).filter((vm) => !ignored(vm)).map((vm) => vm.name);
  return { estate, inScope: vms.filter((vm) => !ignored(vm)).length, uncovered };
}

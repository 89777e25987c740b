// What the NetBox + Proxbox simulator serves: objects shaped as a real NetBox 4.5 with
// netbox-proxbox 0.0.24 and proxbox-api's sync leave them (../shared/netbox-kit/README.md):
// a routine's node stays in raw_config (the `node` field is null), raw_config carries the
// job's `vmid` as a comma string and `prune-backups` as a property string, choice fields are
// {value, label}, every backup row names its VM, and a NetBox cluster is tied to its Proxmox
// endpoint by a ProxmoxCluster row. Builders for them, the sandbox's small estate (every selection style and finding), and
// a large generated estate for the 5,000-VM test and the benchmark.

export type Json = Record<string, unknown>;

export interface NetboxEstate {
  virtualMachines: Json[];
  syncState: Json[];
  backupRoutines: Json[];
  replications: Json[];
  backups: Json[];
  /** ProxmoxCluster rows: NetBox cluster -> Proxmox endpoint. */
  proxmoxClusters: Json[];
  /** Paths (e.g. "plugins/proxbox/backups/") answered 404, as on a Proxbox without them. */
  missingEndpoints: string[];
}

/** The Proxmox endpoints (clusters) an estate can use: 1 is the sandbox's, 2 a second cluster whose VMIDs overlap. */
const CLUSTER_NAMES: Record<number, string> = { 1: 'prod-cluster', 2: 'lab-cluster' };
const ENDPOINT_NAMES: Record<number, string> = { 1: 'prod-proxmox', 2: 'lab-proxmox' };

function endpointRef(endpoint: number): Json {
  const name = ENDPOINT_NAMES[endpoint] ?? `proxmox-${endpoint}`;
  return { id: endpoint, url: `/api/plugins/proxbox/endpoints/proxmox/${endpoint}/`, display: name, name };
}

/** The NetBox cluster the sync makes for Proxmox endpoint `endpoint` (id 4 + endpoint). */
function clusterRef(endpoint: number): Json {
  const name = CLUSTER_NAMES[endpoint] ?? `cluster-${endpoint}`;
  return { id: 4 + endpoint, url: `/api/virtualization/clusters/${4 + endpoint}/`, display: name, name, description: '' };
}

/** The plugin's ProxmoxCluster row tying NetBox cluster 4 + endpoint to its endpoint, as the sync fills it. */
export function proxmoxCluster(endpoint: number): Json {
  const cluster = clusterRef(endpoint);
  return {
    id: endpoint,
    url: `/api/plugins/proxbox/proxmox-clusters/${endpoint}/`,
    display: `${String(cluster.name)} (${ENDPOINT_NAMES[endpoint] ?? endpoint})`,
    endpoint: endpointRef(endpoint),
    netbox_cluster: cluster,
    name: cluster.name,
    cluster_id: `cluster-${endpoint}`,
    mode: { value: 'cluster', label: 'Cluster' },
    nodes_count: 2,
    quorate: true,
    version: 4,
    tags: [],
    custom_fields: {},
  };
}

function choice(value: string): Json {
  return { value, label: value.charAt(0).toUpperCase() + value.slice(1) };
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
  /** The Proxmox endpoint (cluster) it runs on: 1 (default) or 2. */
  endpoint?: number;
}

export function virtualMachine(spec: VmSpec): Json {
  const custom: Json = { proxmox_vm_id: null, proxmox_id: null };
  // proxbox-api creates proxmox_vm_id as an integer field.
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
    cluster: clusterRef(spec.endpoint ?? 1),
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
    proxmox_node: null,
    proxmox_node_name: spec.node ?? '',
    proxmox_cluster: { id: spec.endpoint ?? 1, url: `/api/plugins/proxbox/proxmox-clusters/${spec.endpoint ?? 1}/`, display: CLUSTER_NAMES[spec.endpoint ?? 1], name: CLUSTER_NAMES[spec.endpoint ?? 1] },
    // The real plugin leaves it blank when the ProxmoxCluster row is linked.
    proxmox_cluster_name: '',
    endpoint: endpointRef(spec.endpoint ?? 1),
  };
}

export interface RoutineSpec {
  id: number;
  jobId: string;
  enabled?: boolean;
  status?: 'active' | 'stale';
  schedule?: string;
  /** The job's node: proxbox-api's sync keeps it in raw_config.node and writes the `node` field as null. */
  node?: string;
  /** The job's VMIDs: the `selection` list and raw_config.vmid as Proxmox's comma string. */
  selection?: number[];
  /** The Proxmox endpoint (cluster) of the job: 1 (default) or 2. */
  endpoint?: number;
  rawConfig?: Json;
  keep?: Partial<Record<'keep_last' | 'keep_daily' | 'keep_weekly' | 'keep_monthly' | 'keep_yearly', number>>;
}

/** The keep options as Proxmox's `prune-backups` property string ("keep-daily=7,keep-weekly=4"), as proxbox-api stores it in raw_config. */
function pruneBackups(keep: RoutineSpec['keep']): string | undefined {
  const options = Object.entries(keep ?? {}).map(([name, value]) => `${name.replace('_', '-')}=${value}`);
  return options.length > 0 ? options.join(',') : undefined;
}

/**
 * A routine as proxbox-api's sync stores it: `node`, `storage` and the keep_* fields null,
 * the job itself in raw_config. A job on `all` or a pool is sent with an empty selection,
 * which the real REST API refuses; the simulator still serves one (as `netbox-kit manage`
 * can store one through the ORM, or a later Proxbox might) for the audit's raw_config rules.
 */
export function backupRoutine(spec: RoutineSpec): Json {
  const status = spec.status ?? 'active';
  const selection = spec.selection ?? [];
  const prune = pruneBackups(spec.keep);
  return {
    id: spec.id,
    url: `/api/plugins/proxbox/backup-routines/${spec.id}/`,
    display: `${spec.jobId} (${spec.schedule ?? 'daily'})`,
    endpoint: endpointRef(spec.endpoint ?? 1),
    job_id: spec.jobId,
    enabled: spec.enabled ?? true,
    schedule: spec.schedule ?? '0 2 * * *',
    next_run: spec.schedule === '' ? null : '2026-04-02T02:00:00Z',
    node: null,
    storage: null,
    selection,
    comment: '',
    status: choice(status),
    keep_last: null,
    keep_daily: null,
    keep_weekly: null,
    keep_monthly: null,
    keep_yearly: null,
    keep_all: null,
    notes_template: '',
    bwlimit: null,
    zstd: null,
    io_workers: null,
    fleecing: '',
    fleecing_storage: null,
    repeat_missed: null,
    pbs_change_detection_mode: '',
    raw_config: {
      id: spec.jobId,
      type: 'vzdump',
      compress: 'zstd',
      mode: 'snapshot',
      storage: 'backup-storage',
      ...(spec.node ? { node: spec.node } : {}),
      ...(selection.length > 0 ? { vmid: selection.join(',') } : {}),
      ...(prune ? { 'prune-backups': prune } : {}),
      ...spec.rawConfig,
    },
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
    endpoint: endpointRef(vm.endpoint ?? 1),
    replication_id: `${vm.vmid ?? 0}-0`,
    virtual_machine: { id: vm.id, url: `/api/virtualization/virtual-machines/${vm.id}/`, display: vm.name, name: vm.name },
    proxmox_node: null,
    guest: vm.vmid ?? null,
    target: 'pve-node-02',
    job_type: choice('local'),
    schedule: '*/15',
    rate: null,
    comment: '',
    disable: options.disable ?? false,
    source: 'pve-node-01',
    jobnum: 0,
    remove_job: null,
    status: choice(status),
    raw_config: { type: 'local' },
    tags: [],
    custom_fields: {},
  };
}

/** A backup row: the real plugin refuses one without its VM and deletes it with the VM. */
export function backupFile(id: number, vm: VmSpec, createdAt: Date): Json {
  return {
    id,
    url: `/api/plugins/proxbox/backups/${id}/`,
    display: `${vm.name} - ${createdAt.toISOString()}`,
    proxmox_storage: null,
    virtual_machine: { id: vm.id, url: `/api/virtualization/virtual-machines/${vm.id}/`, display: vm.name, name: vm.name },
    storage: 'backup-storage',
    subtype: { value: 'qemu', label: 'QEMU' },
    format: { value: 'pbs-vm', label: 'PBS-VM' },
    creation_time: createdAt.toISOString(),
    size: 2_147_483_648,
    notes: null,
    volume_id: `backup-storage:backup/vm/${vm.vmid ?? 0}/${createdAt.toISOString()}`,
    vmid: vm.vmid ?? null,
    used: null,
    encrypted: '',
    verification_state: 'ok',
    verification_upid: null,
    tags: [],
    custom_fields: {},
  };
}

export function estateOf(vms: VmSpec[], routines: RoutineSpec[]): NetboxEstate {
  return {
    virtualMachines: vms.map(virtualMachine),
    syncState: vms.map((vm, index) => syncStateRow(vm, index + 1)).filter((row): row is Json => row !== undefined),
    backupRoutines: routines.map(backupRoutine),
    replications: [],
    backups: [],
    proxmoxClusters: [...new Set([1, ...vms.map((vm) => vm.endpoint ?? 1), ...routines.map((routine) => routine.endpoint ?? 1)])].sort().map(proxmoxCluster),
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
  pool01: { id: 11, name: 'pool-01', link: 'proxmox_vm_id', vmid: 160 },
  // The second Proxmox cluster reuses VMID 100 (web-01's); it is linked only by the custom field.
  edge01: { id: 12, name: 'edge-01', link: 'proxmox_vm_id', vmid: 100, endpoint: 2 },
};

/** The VMs the sandbox estate leaves without working cover, and why (as the audit should find). */
export const SANDBOX_UNCOVERED = ['app-02', 'batch-01', 'lab-01', 'legacy-01'];

/**
 * Every finding, in the shapes a real sync leaves: VMID routines, one limited to a node
 * (raw_config.node), a disabled, a stale and an unscheduled routine, a retention below the
 * minimum, an unknown VMID, a too-old backup, an ignored and an unlinked VM, replications,
 * and a second Proxmox cluster whose guest reuses VMID 100 and has no backup (web-01's
 * backups are not its own). No routine selects `all` or a pool: Proxbox 0.0.24 cannot store one.
 */
export function sandboxEstate(now: Date = new Date()): NetboxEstate {
  const vm = SANDBOX_VMS;
  const routines: RoutineSpec[] = [
    { id: 1, jobId: 'backup-daily', selection: [100, 101, 102, 160, 199], keep: { keep_daily: 7, keep_weekly: 4 } },
    // app-02 (111) is not selected; lab-01 (150) is, but runs on pve-node-01, not on the job's node.
    { id: 2, jobId: 'backup-node2', node: 'pve-node-02', selection: [110, 150], keep: { keep_daily: 3 } },
    { id: 3, jobId: 'backup-legacy', enabled: false, selection: [130], keep: { keep_daily: 7 } },
    { id: 4, jobId: 'backup-batch', status: 'stale', selection: [140], keep: { keep_daily: 7 } },
    { id: 5, jobId: 'backup-lab', endpoint: 2, schedule: 'sat 02:00', selection: [100], keep: { keep_last: 10, keep_daily: 7 } },
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

/** A routine the sandbox adds to show the audit pass: every guest of the first cluster by VMID, on every node. */
export function coverEverythingRoutine(id: number): Json {
  const vmids = Object.values(SANDBOX_VMS).flatMap((vm) => ((vm.endpoint ?? 1) === 1 && vm.vmid !== undefined ? [vm.vmid] : []));
  return backupRoutine({ id, jobId: 'backup-everything', selection: [...new Set(vmids)].sort((a, b) => a - b), keep: { keep_daily: 7 } });
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

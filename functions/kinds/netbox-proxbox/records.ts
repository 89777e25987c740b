// What the audit keeps of each NetBox / Proxbox object: small records, read defensively
// from the answers (every field may be missing or of another type on another Proxbox
// version), stored as JSON in S3 between the lifecycle's states.

export interface VmRecord {
  readonly id: number;
  readonly name: string;
  /** Tag names and slugs. */
  readonly tags: readonly string[];
  /** custom_fields.proxmox_vm_id (the older Proxbox link). */
  readonly customVmid: number | null;
  /** custom_fields.proxmox_id (the oldest link). */
  readonly legacyVmid: number | null;
  readonly cluster: string | null;
  /** The NetBox cluster's id: the plugin's ProxmoxCluster rows tie it to a Proxmox endpoint. */
  readonly clusterId: number | null;
  /** The NetBox device the VM is pinned to (Proxbox makes one per Proxmox node). */
  readonly device: string | null;
  /** custom_fields.proxmox_pool, where someone records it (no Proxbox document names a pool field). */
  readonly pool: string | null;
}

/** A Proxbox ProxmoxCluster row: which Proxmox endpoint a NetBox cluster is synced from (the sync fills it). */
export interface ProxmoxClusterRecord {
  readonly netboxClusterId: number;
  readonly endpointId: number;
  readonly name: string | null;
}

/** A sync-state row: Proxbox's newest link from a NetBox VM to its Proxmox VMID. */
export interface VmLinkRecord {
  readonly vmId: number;
  readonly vmid: number;
  readonly node: string | null;
  readonly cluster: string | null;
  readonly endpointId: number | null;
  readonly pool: string | null;
}

export interface RetentionRecord {
  readonly keepLast: number | null;
  readonly keepHourly: number | null;
  readonly keepDaily: number | null;
  readonly keepWeekly: number | null;
  readonly keepMonthly: number | null;
  readonly keepYearly: number | null;
  readonly keepAll: boolean;
}

export interface RoutineRecord {
  readonly id: number;
  readonly jobId: string;
  readonly enabled: boolean;
  /** `active`, `stale`, or whatever else a later Proxbox says. */
  readonly status: string | null;
  readonly schedule: string;
  readonly nextRun: string | null;
  /** The node that runs it (the `node` field, else raw_config.node, where proxbox-api's sync leaves it): it then selects only guests on that node. */
  readonly node: string | null;
  readonly endpointId: number | null;
  readonly storage: string | null;
  /** VMIDs named by the job (`selection`, else raw_config.vmid). */
  readonly selection: readonly number[];
  /** raw_config `all`: every guest, minus `exclude` (Proxbox 0.0.24's REST API cannot store such a routine: its selection may not be blank). */
  readonly all: boolean;
  readonly exclude: readonly number[];
  /** raw_config `pool`: wins over VMIDs and `all` (Proxmox's precedence). */
  readonly pool: string | null;
  readonly retention: RetentionRecord;
}

export interface ReplicationRecord {
  readonly id: number;
  readonly replicationId: string;
  readonly vmId: number | null;
  readonly guest: number | null;
  readonly target: string | null;
  readonly disabled: boolean;
  readonly status: string | null;
}

export interface BackupRecord {
  readonly vmId: number | null;
  readonly vmid: number | null;
  /** ISO 8601 UTC; null when the row's creation_time could not be read. */
  readonly createdAt: string | null;
}

type Json = Record<string, unknown>;

function object(value: unknown): Json {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};
}

/** A whole number from a number or a numeric string ("100"); null otherwise. */
export function integer(value: unknown): number | null {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && /^\s*\d+\s*$/.test(value)) return Number(value);
  return null;
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value : null;
}

/** A nested object's name (`{ "name": … }`), or a plain string. */
function nameOf(value: unknown): string | null {
  return typeof value === 'string' ? text(value) : text(object(value).name) ?? text(object(value).display);
}

/** A choice field: `{ "value": "active", "label": "Active" }`, or a plain string. */
function choice(value: unknown): string | null {
  return typeof value === 'string' ? value : text(object(value).value);
}

/** A VMID list: an array of numbers or numeric strings, or Proxmox's comma list ("101,102"). */
export function vmidList(value: unknown): number[] {
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(/[\s,;]+/) : typeof value === 'number' ? [value] : [];
  return items.map(integer).filter((vmid): vmid is number => vmid !== null);
}

/** Proxmox writes booleans as 1/0, "1"/"0" or true/false. */
function flag(value: unknown): boolean {
  return value === true || value === 1 || value === '1' || value === 'true';
}

export function vmRecord(value: unknown): VmRecord {
  const vm = object(value);
  const custom = object(vm.custom_fields);
  const tags = Array.isArray(vm.tags) ? vm.tags.flatMap((tag) => (typeof tag === 'string' ? [tag] : [text(object(tag).name), text(object(tag).slug)].filter((name): name is string => name !== null))) : [];
  return {
    id: integer(vm.id) ?? -1,
    name: text(vm.name) ?? text(vm.display) ?? `VM #${String(vm.id)}`,
    tags,
    customVmid: integer(custom.proxmox_vm_id),
    legacyVmid: integer(custom.proxmox_id),
    cluster: nameOf(vm.cluster),
    clusterId: integer(object(vm.cluster).id),
    device: nameOf(vm.device),
    pool: text(custom.proxmox_pool),
  };
}

/** A sync-state row, or null when it names no VM or no VMID. */
export function vmLinkRecord(value: unknown): VmLinkRecord | null {
  const row = object(value);
  const vmId = integer(object(row.virtual_machine).id) ?? integer(row.virtual_machine);
  const vmid = integer(row.proxmox_vm_id);
  if (vmId === null || vmid === null) return null;
  return {
    vmId,
    vmid,
    node: text(row.proxmox_node_name) ?? nameOf(row.proxmox_node),
    // The real plugin links the ProxmoxCluster row and may leave the name blank.
    cluster: text(row.proxmox_cluster_name) ?? nameOf(row.proxmox_cluster),
    endpointId: integer(object(row.endpoint).id) ?? integer(row.endpoint),
    // Not in any document: read when a Proxbox version carries it.
    pool: text(row.proxmox_pool) ?? text(row.pool),
  };
}

/**
 * Proxmox's `prune-backups` as the job carries it: a property string
 * ("keep-daily=7,keep-last=3", as proxbox-api stores it in raw_config) or an object.
 */
export function pruneBackups(value: unknown): Json {
  if (typeof value !== 'string') return object(value);
  const options: Json = {};
  for (const part of value.split(',')) {
    const [name, setting] = part.split('=').map((piece) => piece.trim());
    if (name && setting !== undefined) options[name] = setting;
  }
  return options;
}

export function routineRecord(value: unknown): RoutineRecord {
  const routine = object(value);
  const raw = object(routine.raw_config);
  const prune = pruneBackups(raw['prune-backups']);
  const keep = (name: string): number | null => integer(routine[name]) ?? integer(raw[name.replace('_', '-')]) ?? integer(prune[name.replace('_', '-')]);
  const selection = vmidList(routine.selection);
  return {
    id: integer(routine.id) ?? -1,
    jobId: text(routine.job_id) ?? `routine #${String(routine.id)}`,
    enabled: routine.enabled === true,
    status: choice(routine.status),
    schedule: typeof routine.schedule === 'string' ? routine.schedule.trim() : '',
    nextRun: text(routine.next_run),
    // proxbox-api's sync writes `node` as null and leaves the job's node in raw_config.
    node: nameOf(routine.node) ?? text(raw.node),
    endpointId: integer(object(routine.endpoint).id) ?? integer(routine.endpoint),
    storage: nameOf(routine.storage),
    selection: selection.length > 0 ? selection : vmidList(raw.vmid),
    all: flag(raw.all),
    exclude: vmidList(raw.exclude),
    pool: text(raw.pool),
    retention: {
      keepLast: keep('keep_last'),
      keepHourly: keep('keep_hourly'),
      keepDaily: keep('keep_daily'),
      keepWeekly: keep('keep_weekly'),
      keepMonthly: keep('keep_monthly'),
      keepYearly: keep('keep_yearly'),
      keepAll: routine.keep_all === true || flag(raw['keep-all']) || flag(prune['keep-all']),
    },
  };
}

/** A ProxmoxCluster row, or null when it links no NetBox cluster or no endpoint (nothing to learn from it). */
export function proxmoxClusterRecord(value: unknown): ProxmoxClusterRecord | null {
  const row = object(value);
  const netboxClusterId = integer(object(row.netbox_cluster).id) ?? integer(row.netbox_cluster);
  const endpointId = integer(object(row.endpoint).id) ?? integer(row.endpoint);
  if (netboxClusterId === null || endpointId === null) return null;
  return { netboxClusterId, endpointId, name: text(row.name) };
}

export function replicationRecord(value: unknown): ReplicationRecord {
  const replication = object(value);
  return {
    id: integer(replication.id) ?? -1,
    replicationId: text(replication.replication_id) ?? `replication #${String(replication.id)}`,
    vmId: integer(object(replication.virtual_machine).id) ?? integer(replication.virtual_machine),
    guest: integer(replication.guest),
    target: text(replication.target),
    disabled: flag(replication.disable),
    status: choice(replication.status),
  };
}

/** creation_time as ISO 8601: Proxmox reports epoch seconds (ctime); Proxbox may store a datetime. */
export function creationTime(value: unknown): string | null {
  const seconds = integer(value);
  if (seconds !== null) return new Date(seconds * 1000).toISOString();
  if (typeof value !== 'string') return null;
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? null : new Date(parsed).toISOString();
}

export function backupRecord(value: unknown): BackupRecord {
  const backup = object(value);
  return {
    vmId: integer(object(backup.virtual_machine).id) ?? integer(backup.virtual_machine),
    vmid: integer(backup.vmid),
    createdAt: creationTime(backup.creation_time),
  };
}

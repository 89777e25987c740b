// The coverage model: which Proxmox VMs recorded in NetBox have working backup cover.
// Pure: it takes the records read from NetBox and the policy, and returns the report.
// The rules are docs/design.md's ("Facts about the vendors" and the `audit --json` contract).
import type { CoveragePolicy } from './config';
import type { BackupRecord, ProxmoxClusterRecord, ReplicationRecord, RetentionRecord, RoutineRecord, VmLinkRecord, VmRecord } from './records';

export type Severity = 'critical' | 'warning' | 'info';
export const SEVERITIES: readonly Severity[] = ['critical', 'warning', 'info'];

export type FindingCode =
  | 'vm-uncovered'
  | 'routine-disabled'
  | 'routine-stale'
  | 'routine-unscheduled'
  | 'retention-below-minimum'
  | 'backup-too-old'
  | 'backup-freshness-unknown'
  | 'replication-missing'
  | 'selection-unknown-vmid'
  | 'selection-unstorable';

export interface Finding {
  readonly severity: Severity;
  readonly code: FindingCode;
  /** The routine's job_id or the VM's name (the target's name for a finding about the whole audit). */
  readonly subject: string;
  readonly message: string;
}

export interface UncoveredVm {
  readonly name: string;
  readonly vmid: number;
  readonly reasons: readonly string[];
}

/** One VM in scope, as the table shows it. */
export interface VmRow {
  readonly name: string;
  readonly vmid: number;
  readonly cluster: string | null;
  readonly node: string | null;
  readonly covered: boolean;
  /** job_ids of the working routines that select it. */
  readonly routines: readonly string[];
  readonly newestBackupAt: string | null;
  readonly replication: 'active' | 'inactive' | 'none';
  readonly findings: readonly FindingCode[];
}

export interface AuditReport {
  readonly target: string;
  readonly generatedAt: string;
  readonly virtualMachines: number;
  readonly covered: number;
  readonly uncovered: readonly UncoveredVm[];
  readonly findings: readonly Finding[];
  /** Beyond the contract: the table's rows, VMs NetBox lists but the audit leaves out, and whether backup ages were known. */
  readonly rows: readonly VmRow[];
  readonly outOfScope: { readonly withoutVmid: number; readonly ignoredByTag: number };
  readonly routines: number;
  readonly backupsChecked: boolean;
}

/** What the backups endpoint gave: its rows, or why there are none (it does not exist on every Proxbox). */
export type BackupsRead = { readonly available: true; readonly backups: readonly BackupRecord[] } | { readonly available: false; readonly reason: string };

export interface CoverageInput {
  readonly target: string;
  readonly generatedAt: Date;
  readonly policy: CoveragePolicy;
  readonly vms: readonly VmRecord[];
  readonly links: readonly VmLinkRecord[];
  /** The plugin's ProxmoxCluster rows: which Proxmox endpoint each NetBox cluster is synced from. */
  readonly clusters: readonly ProxmoxClusterRecord[];
  /** The installed netbox-proxbox version as /api/status/ names it (null: not known). */
  readonly proxboxVersion: string | null;
  readonly routines: readonly RoutineRecord[];
  readonly replications: readonly ReplicationRecord[];
  readonly backups: BackupsRead;
}

/** A VM in scope, with what is known of where it runs. */
interface ScopedVm {
  readonly vm: VmRecord;
  readonly vmid: number;
  readonly node: string | null;
  readonly cluster: string | null;
  readonly endpointId: number | null;
  readonly pool: string | null;
}

const SEVERITY_OF: Record<FindingCode, Severity> = {
  'vm-uncovered': 'critical',
  'backup-too-old': 'critical',
  'replication-missing': 'warning',
  'routine-disabled': 'warning',
  'routine-stale': 'warning',
  'routine-unscheduled': 'warning',
  'retention-below-minimum': 'warning',
  'backup-freshness-unknown': 'warning',
  'selection-unknown-vmid': 'warning',
  'selection-unstorable': 'warning',
};

function finding(code: FindingCode, subject: string, message: string): Finding {
  return { severity: SEVERITY_OF[code], code, subject, message };
}

/** Why a routine does not count as cover, or undefined when it works: enabled, active, and scheduled. */
export function routineProblem(routine: RoutineRecord): FindingCode | undefined {
  if (routine.status === 'stale') return 'routine-stale';
  if (!routine.enabled) return 'routine-disabled';
  if (routine.schedule === '') return 'routine-unscheduled';
  // Any other status (a later Proxbox's word) is not taken as "active".
  if (routine.status !== 'active') return 'routine-stale';
  return undefined;
}

type Selection = { readonly selects: true } | { readonly selects: false; readonly near?: string; readonly poolUnknown?: true };

/**
 * Whether a routine selects a VM: by pool (where the VM's pool is known), else by VMID,
 * else `all` minus `exclude` (Proxmox's precedence: pool > vmid > all); then only on its
 * node when it names one, and only on its own Proxmox endpoint when both are known
 * (VMIDs are unique per cluster, not across them). `near` says why a routine that names
 * the VM does not select it after all.
 */
export function selects(routine: RoutineRecord, vm: ScopedVm, severalEndpoints = false): Selection {
  if (routine.endpointId !== null && vm.endpointId !== null && routine.endpointId !== vm.endpointId) return { selects: false };
  // Routines on several Proxmox clusters, and a VM whose Proxmox endpoint NetBox does not
  // record (linked only by a custom field, in a NetBox cluster no ProxmoxCluster row ties to
  // an endpoint): its VMID may belong to another cluster's guest, so a routine of one
  // cluster is not taken as its cover.
  const endpointUnknown = severalEndpoints && routine.endpointId !== null && vm.endpointId === null;
  let named: boolean;
  if (routine.pool !== null) {
    // Membership is known only where NetBox records a pool (see records.ts): otherwise not cover, and said apart.
    if (vm.pool === null) return { selects: false, poolUnknown: true };
    named = vm.pool === routine.pool;
  } else if (routine.selection.length > 0) named = routine.selection.includes(vm.vmid);
  else named = routine.all && !routine.exclude.includes(vm.vmid);
  if (!named) return { selects: false };
  if (endpointUnknown) {
    return { selects: false, near: `${routine.jobId} would select VMID ${vm.vmid} on Proxmox endpoint ${routine.endpointId ?? '?'}, but NetBox does not record which Proxmox cluster the VM is on (its NetBox cluster ${vm.cluster ?? 'is not set'}${vm.cluster === null ? '' : ' is tied to no Proxmox endpoint by a Proxbox ProxmoxCluster row'}) and VMIDs repeat across clusters` };
  }
  if (routine.node !== null && vm.node !== routine.node) {
    return { selects: false, near: `${routine.jobId} would select it but runs only for guests on node ${routine.node}; the VM is on ${vm.node ?? 'a node NetBox does not record'}` };
  }
  return { selects: true };
}

const PROBLEM_WORDS: Record<string, string> = {
  'routine-disabled': 'is disabled',
  'routine-stale': 'is stale (the job no longer exists in Proxmox)',
  'routine-unscheduled': 'has no schedule',
};

const RETENTION_FIELDS = ['keepLast', 'keepHourly', 'keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly'] as const;
const RETENTION_WORDS: Record<(typeof RETENTION_FIELDS)[number], string> = {
  keepLast: 'keep-last',
  keepHourly: 'keep-hourly',
  keepDaily: 'keep-daily',
  keepWeekly: 'keep-weekly',
  keepMonthly: 'keep-monthly',
  keepYearly: 'keep-yearly',
};

/** The keep options a routine's retention falls short of (an unset option counts as 0; keep-all meets every minimum). */
export function retentionShortfalls(retention: RetentionRecord, minimum: CoveragePolicy['minimumRetention']): string[] {
  if (!minimum || retention.keepAll) return [];
  return RETENTION_FIELDS.flatMap((field) => {
    const wanted = minimum[field] ?? 0;
    const has = retention[field] ?? 0;
    return has < wanted ? [`${RETENTION_WORDS[field]} ${has} < ${wanted}`] : [];
  });
}

function scope(
  vms: readonly VmRecord[],
  links: readonly VmLinkRecord[],
  clusters: readonly ProxmoxClusterRecord[],
  ignoreTags: readonly string[],
): { inScope: ScopedVm[]; known: ScopedVm[]; withoutVmid: number; ignoredByTag: number } {
  const linkOf = new Map<number, VmLinkRecord>();
  for (const link of links) if (!linkOf.has(link.vmId)) linkOf.set(link.vmId, link);
  // A NetBox cluster the sync ties to two endpoints tells nothing: left unknown.
  const endpointsOfCluster = new Map<number, Set<number>>();
  for (const cluster of clusters) endpointsOfCluster.set(cluster.netboxClusterId, (endpointsOfCluster.get(cluster.netboxClusterId) ?? new Set<number>()).add(cluster.endpointId));
  const endpointOf = (vm: VmRecord): number | null => {
    const endpoints = vm.clusterId === null ? undefined : endpointsOfCluster.get(vm.clusterId);
    return endpoints?.size === 1 ? ([...endpoints][0] ?? null) : null;
  };
  const ignored = new Set(ignoreTags);
  const inScope: ScopedVm[] = [];
  const known: ScopedVm[] = [];
  let withoutVmid = 0;
  let ignoredByTag = 0;
  for (const vm of vms) {
    const link = linkOf.get(vm.id);
    // Newest link first: the sync-state row, then proxmox_vm_id, then proxmox_id.
    const vmid = link?.vmid ?? vm.customVmid ?? vm.legacyVmid;
    if (vmid === null) {
      withoutVmid += 1;
      continue;
    }
    const scoped: ScopedVm = { vm, vmid, node: link?.node ?? vm.device, cluster: link?.cluster ?? vm.cluster, endpointId: link?.endpointId ?? endpointOf(vm), pool: link?.pool ?? vm.pool };
    known.push(scoped);
    if (vm.tags.some((tag) => ignored.has(tag))) ignoredByTag += 1;
    else inScope.push(scoped);
  }
  return { inScope, known, withoutVmid, ignoredByTag };
}

/**
 * The newest backup per NetBox VM. A row names its VM (the real plugin refuses one that
 * does not, and deletes rows with their VM), and is matched by it alone: a VMID repeats
 * across Proxmox clusters. Only a row naming no VM (another Proxbox's data) is matched by
 * its VMID, and then only to the one VM NetBox links to that VMID (byVmid keys a VMID only
 * rows without a VM carry; the caller checks the VMID is unique).
 */
function newestBackups(backups: BackupsRead): { byVm: Map<number, string>; byVmid: Map<number, string> } {
  const byVm = new Map<number, string>();
  const byVmid = new Map<number, string>();
  if (!backups.available) return { byVm, byVmid };
  const keepNewest = (map: Map<number, string>, key: number | null, at: string): void => {
    if (key === null) return;
    const known = map.get(key);
    if (known === undefined || known < at) map.set(key, at);
  };
  for (const backup of backups.backups) {
    if (backup.createdAt === null) continue;
    if (backup.vmId !== null) keepNewest(byVm, backup.vmId, backup.createdAt);
    else keepNewest(byVmid, backup.vmid, backup.createdAt);
  }
  return { byVm, byVmid };
}

function hoursBetween(earlier: string, later: Date): number {
  return (later.getTime() - new Date(earlier).getTime()) / 3_600_000;
}

/** What each routine says about itself: disabled, stale or unscheduled; retention below the minimum; VMIDs no VM in NetBox is linked to. */
function routineFindings(routines: readonly RoutineRecord[], problems: ReadonlyMap<RoutineRecord, FindingCode | undefined>, policy: CoveragePolicy, known: readonly ScopedVm[]): Finding[] {
  const findings: Finding[] = [];
  for (const routine of routines) {
    const problem = problems.get(routine);
    if (problem) {
      const messages: Record<string, string> = {
        'routine-disabled': `Backup routine ${routine.jobId} is disabled in Proxmox: it backs up nothing, and the VMs it selects do not count as covered.`,
        'routine-stale': `Backup routine ${routine.jobId} is ${routine.status === 'stale' ? 'stale: the job no longer exists in Proxmox' : `in status "${routine.status ?? 'unknown'}", not active`}; it does not count as cover.`,
        'routine-unscheduled': `Backup routine ${routine.jobId} has no schedule: it never runs by itself and does not count as cover.`,
      };
      findings.push(finding(problem, routine.jobId, messages[problem] ?? problem));
    }
    if (routine.status !== 'stale') {
      const short = retentionShortfalls(routine.retention, policy.minimumRetention);
      if (short.length > 0) {
        findings.push(
          finding('retention-below-minimum', routine.jobId, `Backup routine ${routine.jobId} keeps fewer backups than coverage.minimumRetention asks: ${short.join(', ')} (an unset keep option counts as 0).`),
        );
      }
    }
    const endpointVmids = new Set(known.filter((vm) => routine.endpointId === null || vm.endpointId === null || vm.endpointId === routine.endpointId).map((vm) => vm.vmid));
    const unknown = routine.pool === null ? routine.selection.filter((vmid) => !endpointVmids.has(vmid)) : [];
    if (unknown.length > 0) {
      findings.push(
        finding('selection-unknown-vmid', routine.jobId, `Backup routine ${routine.jobId} selects VMID${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')}, which no VM in NetBox is linked to: a guest NetBox does not know, or a VM deleted from Proxmox.`),
      );
    }
  }
  return findings;
}

/** Replication rows by the VM they name; one that names none, by its guest VMID. */
function replicationIndex(replications: readonly ReplicationRecord[]): { byVm: Map<number, ReplicationRecord[]>; byGuest: Map<number, ReplicationRecord[]> } {
  const byVm = new Map<number, ReplicationRecord[]>();
  const byGuest = new Map<number, ReplicationRecord[]>();
  for (const replication of replications) {
    const [map, key] = replication.vmId !== null ? [byVm, replication.vmId] : [byGuest, replication.guest];
    if (key !== null) map.set(key, [...(map.get(key) ?? []), replication]);
  }
  return { byVm, byGuest };
}

/** What every VM's verdict is judged against, computed once for the estate. */
interface VerdictContext {
  readonly routines: readonly RoutineRecord[];
  readonly problems: ReadonlyMap<RoutineRecord, FindingCode | undefined>;
  readonly severalEndpoints: boolean;
  readonly policy: CoveragePolicy;
  readonly newest: { byVm: Map<number, string>; byVmid: Map<number, string> };
  readonly vmsPerVmid: ReadonlyMap<number, number>;
  /** The age of backups is checked (coverage.maxBackupAgeHours set and the backup files read). */
  readonly checkBackupAge: boolean;
  readonly generatedAt: Date;
  readonly replications: ReturnType<typeof replicationIndex>;
}

/** One VM in scope: the routines that cover it (or why none does), the age of its newest backup, its replication. */
function vmVerdict(vm: ScopedVm, context: VerdictContext): { row: VmRow; uncovered: UncoveredVm | undefined; findings: Finding[] } {
  const { policy } = context;
  const findings: Finding[] = [];
  const covering: string[] = [];
  const reasons: string[] = [];
  const unknownPools: string[] = [];
  for (const routine of context.routines) {
    const selection = selects(routine, vm, context.severalEndpoints);
    if (!selection.selects) {
      if (selection.near) reasons.push(selection.near);
      if (selection.poolUnknown && !context.problems.get(routine)) unknownPools.push(`${routine.jobId} (pool ${routine.pool ?? '?'})`);
      continue;
    }
    const problem = context.problems.get(routine);
    if (problem) reasons.push(`${routine.jobId} selects it but ${PROBLEM_WORDS[problem] ?? problem}`);
    else covering.push(routine.jobId);
  }
  const codes: FindingCode[] = [];
  let uncovered: UncoveredVm | undefined;
  if (covering.length === 0) {
    const why = [
      ...(reasons.length > 0 ? reasons : [`no backup routine selects VMID ${vm.vmid}`]),
      ...(unknownPools.length > 0 ? [`pool routine${unknownPools.length === 1 ? '' : 's'} ${unknownPools.join(', ')} may cover it, but NetBox does not record which pool the VM is in`] : []),
    ];
    uncovered = { name: vm.vm.name, vmid: vm.vmid, reasons: why };
    findings.push(finding('vm-uncovered', vm.vm.name, `VM ${vm.vm.name} (VMID ${vm.vmid}) has no working backup routine: ${why.join('; ')}.`));
    codes.push('vm-uncovered');
  }
  const newestAt = context.newest.byVm.get(vm.vm.id) ?? (context.vmsPerVmid.get(vm.vmid) === 1 ? context.newest.byVmid.get(vm.vmid) : undefined) ?? null;
  if (covering.length > 0 && context.checkBackupAge) {
    const maxHours = policy.maxBackupAgeHours ?? 0;
    if (newestAt === null || hoursBetween(newestAt, context.generatedAt) > maxHours) {
      findings.push(
        finding(
          'backup-too-old',
          vm.vm.name,
          newestAt === null
            ? `VM ${vm.vm.name} (VMID ${vm.vmid}) has no backup file recorded in NetBox, although ${covering.join(', ')} select${covering.length === 1 ? 's' : ''} it (coverage.maxBackupAgeHours ${maxHours}).`
            : `The newest backup of VM ${vm.vm.name} (VMID ${vm.vmid}) was made ${newestAt}, ${Math.floor(hoursBetween(newestAt, context.generatedAt))} h ago: older than coverage.maxBackupAgeHours (${maxHours} h).`,
        ),
      );
      codes.push('backup-too-old');
    }
  }
  const replications = [...(context.replications.byVm.get(vm.vm.id) ?? []), ...(context.replications.byGuest.get(vm.vmid) ?? [])];
  const activeReplication = replications.some((replication) => !replication.disabled && replication.status === 'active');
  if (policy.requireReplication && !activeReplication) {
    findings.push(
      finding(
        'replication-missing',
        vm.vm.name,
        `VM ${vm.vm.name} (VMID ${vm.vmid}) has no active replication job${replications.length > 0 ? ` (${replications.map((replication) => `${replication.replicationId} ${replication.disabled ? 'disabled' : (replication.status ?? 'unknown')}`).join(', ')})` : ''}, and coverage.requireReplication is on.`,
      ),
    );
    codes.push('replication-missing');
  }
  const row: VmRow = {
    name: vm.vm.name,
    vmid: vm.vmid,
    cluster: vm.cluster,
    node: vm.node,
    covered: covering.length > 0,
    routines: covering,
    newestBackupAt: newestAt,
    replication: activeReplication ? 'active' : replications.length > 0 ? 'inactive' : 'none',
    findings: codes,
  };
  return { row, uncovered, findings };
}

export function computeCoverage(input: CoverageInput): AuditReport {
  const { policy, routines } = input;
  const { inScope, known, withoutVmid, ignoredByTag } = scope(input.vms, input.links, input.clusters, policy.ignoreTags);
  const vmsPerVmid = new Map<number, number>();
  for (const vm of known) vmsPerVmid.set(vm.vmid, (vmsPerVmid.get(vm.vmid) ?? 0) + 1);

  const problems = new Map<RoutineRecord, FindingCode | undefined>(routines.map((routine) => [routine, routineProblem(routine)]));
  const findings: Finding[] = routineFindings(routines, problems, policy, known);

  const checkAge = policy.maxBackupAgeHours !== undefined;
  if (checkAge && !input.backups.available) {
    findings.push(finding('backup-freshness-unknown', input.target, `The age of the newest backups could not be checked: ${input.backups.reason}.`));
  }

  const context: VerdictContext = {
    routines,
    problems,
    severalEndpoints: new Set(routines.flatMap((routine) => (routine.endpointId !== null ? [routine.endpointId] : []))).size > 1,
    policy,
    newest: newestBackups(input.backups),
    vmsPerVmid,
    checkBackupAge: checkAge && input.backups.available,
    generatedAt: input.generatedAt,
    replications: replicationIndex(input.replications),
  };
  const uncovered: UncoveredVm[] = [];
  const rows: VmRow[] = [];
  for (const vm of inScope) {
    const verdict = vmVerdict(vm, context);
    rows.push(verdict.row);
    if (verdict.uncovered) uncovered.push(verdict.uncovered);
    findings.push(...verdict.findings);
  }

  const unstorable = unstorableSelections(input, uncovered.length);
  if (unstorable) findings.push(unstorable);

  const rank = (severity: Severity): number => SEVERITIES.indexOf(severity);
  findings.sort((a, b) => rank(a.severity) - rank(b.severity) || a.code.localeCompare(b.code) || a.subject.localeCompare(b.subject));
  uncovered.sort((a, b) => a.name.localeCompare(b.name) || a.vmid - b.vmid);
  rows.sort((a, b) => a.name.localeCompare(b.name) || a.vmid - b.vmid);
  return {
    target: input.target,
    generatedAt: input.generatedAt.toISOString(),
    virtualMachines: inScope.length,
    covered: inScope.length - uncovered.length,
    uncovered,
    findings,
    rows,
    outOfScope: { withoutVmid, ignoredByTag },
    routines: routines.length,
    backupsChecked: checkAge && input.backups.available,
  };
}

/**
 * Proxbox 0.0.24's REST API refuses a backup routine with a blank selection, and its sync
 * sends `[]` for a Proxmox job on `all` or a pool: such a job is not in NetBox at all, and
 * the VMs it backs up look uncovered. Said once, where it matters (VMs are uncovered), unless
 * NetBox holds such a routine, which shows this Proxbox can store them.
 */
function unstorableSelections(input: CoverageInput, uncovered: number): Finding | undefined {
  if (uncovered === 0 || input.routines.some((routine) => routine.all || routine.pool !== null)) return undefined;
  const plugin = input.proxboxVersion === null ? 'The installed Proxbox' : `Proxbox ${input.proxboxVersion} (as NetBox's /api/status/ names it)`;
  return finding(
    'selection-unstorable',
    input.target,
    `${plugin} stores a backup routine only with a list of VMIDs: a Proxmox backup job that selects all guests or a pool cannot be stored by its sync (its REST API refuses an empty selection), so no such job is in NetBox. ` +
      `If Proxmox has one, some of the ${uncovered} VM${uncovered === 1 ? '' : 's'} reported uncovered may be backed up by it: check Datacenter → Backup in Proxmox.`,
  );
}

/** Findings per severity, every severity present (0 when none): what the metrics publish. */
export function findingsBySeverity(findings: readonly Pick<Finding, 'severity'>[]): Record<Severity, number> {
  const counts: Record<Severity, number> = { critical: 0, warning: 0, info: 0 };
  for (const { severity } of findings) counts[severity] += 1;
  return counts;
}

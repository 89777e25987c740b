// The one list of Lambda functions and lifecycles. The CDK stack builds a function per
// entry and fills the ASL placeholder `${<id>FunctionArn}` with its ARN; the local
// runner fills the same placeholder with a local name and runs the handler in-process.
// Names only: what each function does lives in its handler.
import type { TargetConfig } from './config/schema';

export type TargetKind = TargetConfig['kind'];

export type ArchiveAccess = 'none' | 'read' | 'write';

/**
 * Where a function must be able to reach: 'internet' (SaaS APIs), or 'appliance'
 * (appliances on private networks: placed in the configured VPC, when there is one).
 */
export type NetworkReach = 'internet' | 'appliance';

export interface FunctionSpec {
  readonly id: string;
  /** Handler module, relative to the repository root; it exports `handler`. */
  readonly entry: string;
  readonly description: string;
  /** What the function may do in the archive bucket. */
  readonly archive: ArchiveAccess;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /** NODE_OPTIONS of the function (and of the benchmark's copier run as deployed). */
  readonly nodeOptions: string;
  readonly network: NetworkReach;
  /** The kind of target whose API (and credentials) the function uses. */
  readonly kind: TargetKind;
}

// API calls may honour a Retry-After of up to a minute inside the function.
const apiCall = { archive: 'none', timeoutSeconds: 120, memoryMb: 256, nodeOptions: '--enable-source-maps', network: 'internet', kind: 'netbox-cloud' } as const;
const applianceCall = { ...apiCall, network: 'appliance', kind: 'appliance' } as const;
/** Streams whole backups: the 15-minute Lambda ceiling, and memory for the upload's buffers and CPU for hashing. */
const streaming = { timeoutSeconds: 900, memoryMb: 1024 } as const;

// A streaming copy churns through short-lived buffers; a 1 MiB young generation has them
// collected promptly instead of letting RSS grow by tens of MiB (measured by npm run bench).
export const COPY_NODE_OPTIONS = '--enable-source-maps --max-semi-space-size=1';

export const FUNCTIONS = [
  { id: 'NetboxCloudRequestBackup', entry: 'functions/kinds/netbox-cloud/handlers/request-backup.ts', description: 'NetBox Cloud: POST backup-requests', ...apiCall },
  { id: 'NetboxCloudCheckBackupRequest', entry: 'functions/kinds/netbox-cloud/handlers/check-backup-request.ts', description: 'NetBox Cloud: read one backup request', ...apiCall },
  { id: 'NetboxCloudFindBackup', entry: 'functions/kinds/netbox-cloud/handlers/find-backup.ts', description: 'NetBox Cloud: find the backup a request produced', ...apiCall },
  { id: 'NetboxCloudRequestRetrieval', entry: 'functions/kinds/netbox-cloud/handlers/request-retrieval.ts', description: 'NetBox Cloud: POST backup-retrieved', ...apiCall },
  { id: 'NetboxCloudCheckRetrieval', entry: 'functions/kinds/netbox-cloud/handlers/check-retrieval.ts', description: 'NetBox Cloud: read one retrieval', ...apiCall },
  { id: 'NetboxCloudResolveBackup', entry: 'functions/kinds/netbox-cloud/handlers/resolve-backup.ts', description: 'NetBox Cloud: resolve a backup id or "latest"', ...apiCall },
  { id: 'NetboxCloudFindReusableRetrieval', entry: 'functions/kinds/netbox-cloud/handlers/find-reusable-retrieval.ts', description: 'NetBox Cloud: find a completed, unexpired retrieval', ...apiCall },
  { id: 'NetboxCloudRequestRestore', entry: 'functions/kinds/netbox-cloud/handlers/request-restore.ts', description: 'NetBox Cloud: POST backup-restore', ...apiCall },
  { id: 'NetboxCloudCheckRestore', entry: 'functions/kinds/netbox-cloud/handlers/check-restore.ts', description: 'NetBox Cloud: read one restore job', ...apiCall },
  {
    id: 'CopyToArchive',
    entry: 'functions/handlers/copy-to-archive.ts',
    description: 'Streams a vendor download into the archive bucket and writes its manifest',
    archive: 'write',
    ...streaming,
    nodeOptions: COPY_NODE_OPTIONS,
    network: 'internet',
    kind: 'netbox-cloud',
  },
  { id: 'ApplianceCreateBackup', entry: 'functions/kinds/appliance/handlers/create-backup.ts', description: 'Appliance: POST backups (on a full disk, first deletes an offsite-made backup with a verified archive copy)', ...applianceCall, archive: 'read' },
  { id: 'ApplianceCheckBackup', entry: 'functions/kinds/appliance/handlers/check-backup.ts', description: 'Appliance: read one backup', ...applianceCall },
  {
    id: 'ApplianceCopyToArchive',
    // The same copier as CopyToArchive, deployed where the appliances can be reached.
    entry: 'functions/handlers/copy-to-archive.ts',
    description: 'Streams an appliance backup file into the archive bucket and writes its manifest',
    archive: 'write',
    ...streaming,
    nodeOptions: COPY_NODE_OPTIONS,
    network: 'appliance',
    kind: 'appliance',
  },
  { id: 'AppliancePlanPrune', entry: 'functions/kinds/appliance/handlers/plan-prune.ts', description: 'Appliance: choose offsite-made backups to delete (only with a verified archive copy)', ...applianceCall, archive: 'read' },
  { id: 'ApplianceDeleteBackup', entry: 'functions/kinds/appliance/handlers/delete-backup.ts', description: 'Appliance: DELETE one backup', ...applianceCall },
  { id: 'ApplianceResolveRestore', entry: 'functions/kinds/appliance/handlers/resolve-restore.ts', description: 'Appliance: choose the backup to restore, in place or from the archive', ...applianceCall, archive: 'read' },
  {
    id: 'ApplianceUploadBackup',
    entry: 'functions/kinds/appliance/handlers/upload-backup.ts',
    description: 'Streams an archived backup from the archive bucket to the appliance (backups/upload)',
    archive: 'read',
    ...streaming,
    nodeOptions: COPY_NODE_OPTIONS,
    network: 'appliance',
    kind: 'appliance',
  },
  { id: 'ApplianceReadRestoreStatus', entry: 'functions/kinds/appliance/handlers/read-restore-status.ts', description: 'Appliance: read restore_status before a restore', ...applianceCall },
  { id: 'ApplianceRequestRestore', entry: 'functions/kinds/appliance/handlers/request-restore.ts', description: 'Appliance: POST backups/items/{id}/restore', ...applianceCall },
  { id: 'ApplianceCheckRestore', entry: 'functions/kinds/appliance/handlers/check-restore.ts', description: 'Appliance: read restore_status through the reboot', ...applianceCall },
] as const satisfies readonly FunctionSpec[];

export type FunctionId = (typeof FUNCTIONS)[number]['id'];

export interface LifecycleSpec {
  readonly id: string;
  readonly kind: TargetKind;
  readonly purpose: 'backup' | 'restore';
  /** ASL file, relative to the repository root. */
  readonly definitionFile: string;
  /** Hard ceiling on one execution, above the longest poll budget the config allows. */
  readonly timeoutHours: number;
}

export const LIFECYCLES = [
  { id: 'NetboxCloudBackup', kind: 'netbox-cloud', purpose: 'backup', definitionFile: 'state-machines/netbox-cloud-backup.asl.json', timeoutHours: 48 },
  { id: 'NetboxCloudRestore', kind: 'netbox-cloud', purpose: 'restore', definitionFile: 'state-machines/netbox-cloud-restore.asl.json', timeoutHours: 48 },
  { id: 'ApplianceBackup', kind: 'appliance', purpose: 'backup', definitionFile: 'state-machines/appliance-backup.asl.json', timeoutHours: 24 },
  { id: 'ApplianceRestore', kind: 'appliance', purpose: 'restore', definitionFile: 'state-machines/appliance-restore.asl.json', timeoutHours: 24 },
] as const satisfies readonly LifecycleSpec[];

export function functionArnPlaceholder(id: string): string {
  return `${id}FunctionArn`;
}

export function lifecycleFor(kind: LifecycleSpec['kind'], purpose: LifecycleSpec['purpose']): LifecycleSpec {
  const lifecycle = LIFECYCLES.find((candidate) => candidate.kind === kind && candidate.purpose === purpose);
  if (!lifecycle) throw new Error(`No ${purpose} lifecycle for kind ${kind}`);
  return lifecycle;
}

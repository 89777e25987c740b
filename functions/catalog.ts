// The one list of Lambda functions and lifecycles. The CDK stack builds a function per
// entry and fills the ASL placeholder `${<id>FunctionArn}` with its ARN; the local
// runner fills the same placeholder with a local name and runs the handler in-process.
// Names only: what each function does lives in its handler.

export type ArchiveAccess = 'none' | 'write';

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
}

// API calls may honour a Retry-After of up to a minute inside the function.
const apiCall = { archive: 'none', timeoutSeconds: 120, memoryMb: 256, nodeOptions: '--enable-source-maps' } as const;

// A streaming copy churns through short-lived buffers; a 1 MiB young generation has them
// collected promptly instead of letting RSS grow by tens of MiB (measured by npm run bench).
export const COPY_NODE_OPTIONS = '--enable-source-maps --max-semi-space-size=1';

export const FUNCTIONS = [
  { id: 'NetboxCloudRequestBackup', entry: 'functions/handlers/netbox-cloud/request-backup.ts', description: 'NetBox Cloud: POST backup-requests', ...apiCall },
  { id: 'NetboxCloudCheckBackupRequest', entry: 'functions/handlers/netbox-cloud/check-backup-request.ts', description: 'NetBox Cloud: read one backup request', ...apiCall },
  { id: 'NetboxCloudFindBackup', entry: 'functions/handlers/netbox-cloud/find-backup.ts', description: 'NetBox Cloud: find the backup a request produced', ...apiCall },
  { id: 'NetboxCloudRequestRetrieval', entry: 'functions/handlers/netbox-cloud/request-retrieval.ts', description: 'NetBox Cloud: POST backup-retrieved', ...apiCall },
  { id: 'NetboxCloudCheckRetrieval', entry: 'functions/handlers/netbox-cloud/check-retrieval.ts', description: 'NetBox Cloud: read one retrieval', ...apiCall },
  { id: 'NetboxCloudResolveBackup', entry: 'functions/handlers/netbox-cloud/resolve-backup.ts', description: 'NetBox Cloud: resolve a backup id or "latest"', ...apiCall },
  { id: 'NetboxCloudFindReusableRetrieval', entry: 'functions/handlers/netbox-cloud/find-reusable-retrieval.ts', description: 'NetBox Cloud: find a completed, unexpired retrieval', ...apiCall },
  { id: 'NetboxCloudRequestRestore', entry: 'functions/handlers/netbox-cloud/request-restore.ts', description: 'NetBox Cloud: POST backup-restore', ...apiCall },
  { id: 'NetboxCloudCheckRestore', entry: 'functions/handlers/netbox-cloud/check-restore.ts', description: 'NetBox Cloud: read one restore job', ...apiCall },
  {
    id: 'CopyToArchive',
    entry: 'functions/handlers/copy-to-archive.ts',
    description: 'Streams a vendor download into the archive bucket and writes its manifest',
    archive: 'write',
    timeoutSeconds: 900,
    memoryMb: 1024,
    nodeOptions: COPY_NODE_OPTIONS,
  },
] as const satisfies readonly FunctionSpec[];

export type FunctionId = (typeof FUNCTIONS)[number]['id'];

export interface LifecycleSpec {
  readonly id: string;
  readonly kind: 'netbox-cloud';
  readonly purpose: 'backup' | 'restore';
  /** ASL file, relative to the repository root. */
  readonly definitionFile: string;
  /** Hard ceiling on one execution, above the longest poll budget the config allows. */
  readonly timeoutHours: number;
}

export const LIFECYCLES = [
  { id: 'NetboxCloudBackup', kind: 'netbox-cloud', purpose: 'backup', definitionFile: 'state-machines/netbox-cloud-backup.asl.json', timeoutHours: 48 },
  { id: 'NetboxCloudRestore', kind: 'netbox-cloud', purpose: 'restore', definitionFile: 'state-machines/netbox-cloud-restore.asl.json', timeoutHours: 48 },
] as const satisfies readonly LifecycleSpec[];

export function functionArnPlaceholder(id: string): string {
  return `${id}FunctionArn`;
}

export function lifecycleFor(kind: LifecycleSpec['kind'], purpose: LifecycleSpec['purpose']): LifecycleSpec {
  const lifecycle = LIFECYCLES.find((candidate) => candidate.kind === kind && candidate.purpose === purpose);
  if (!lifecycle) throw new Error(`No ${purpose} lifecycle for kind ${kind}`);
  return lifecycle;
}

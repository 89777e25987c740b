// The one list of Lambda functions and lifecycles, gathered from the kinds' definitions
// (functions/kinds/registry.ts). The CDK stack builds a function per entry and fills the
// ASL placeholder `${<id>FunctionArn}` with its ARN; the local runner fills the same
// placeholder with a local name and runs the handler in-process.
import { ARCHIVE_JOBS, type ArchiveObjectAction } from './archive/jobs';
import { DRILL_FUNCTIONS } from './drill/jobs';
import { FLEET_FUNCTIONS } from './fleet/jobs';
import type { KindFunctionSpec, KindLifecycleSpec, LifecyclePurpose } from './kinds/kind';
import { KIND_LIST, type TargetKind } from './kinds/registry';

export type { ArchiveAccess, NetworkReach } from './kinds/kind';
export { COPY_NODE_OPTIONS } from './kinds/function-defaults';
export type { TargetKind } from './kinds/registry';

export interface FunctionSpec extends KindFunctionSpec {
  /** The kind of target whose API (and credentials) the function uses; none for the archive's own jobs (functions/archive/jobs.ts). */
  readonly kind?: TargetKind;
  /** Object-level archive actions beyond `archive` access (the archive's jobs: prune deletes). */
  readonly archiveActions?: readonly ArchiveObjectAction[];
}

export interface LifecycleSpec extends KindLifecycleSpec {
  readonly kind: TargetKind;
}

export const FUNCTIONS: readonly FunctionSpec[] = [
  ...KIND_LIST.flatMap((definition) => definition.functions.map((fn) => ({ ...fn, kind: definition.kind }))),
  ...ARCHIVE_JOBS.functions,
  ...DRILL_FUNCTIONS,
  ...FLEET_FUNCTIONS,
];

export const LIFECYCLES: readonly LifecycleSpec[] = KIND_LIST.flatMap((definition) => definition.lifecycles.map((lifecycle) => ({ ...lifecycle, kind: definition.kind })));

export function functionArnPlaceholder(id: string): string {
  return `${id}FunctionArn`;
}

export function lifecycleFor(kind: TargetKind, purpose: LifecyclePurpose): LifecycleSpec {
  const lifecycle = LIFECYCLES.find((candidate) => candidate.kind === kind && candidate.purpose === purpose);
  if (!lifecycle) throw new Error(`No ${purpose} lifecycle for kind ${kind}`);
  return lifecycle;
}

// The audit row of `npm run bench`: one whole netbox-proxbox audit run locally (the real
// ASL and handlers, every list through the local S3 store) over 5,000 VMs and 50 routines
// served by the simulator in its own process; its time and the audit process's peak memory.
import type { AuditNetboxJob, AuditNetboxReady } from './audit-netbox';
import type { AuditRunJob, AuditRunResult } from './audit-run';
import { BUCKET, firstMessage, forkNode, memoryLine, mib, peakRssBytes, printRows, progress, runChildJob, storeEnv, tsLaunch, type BenchContext, type DirectionOutcome, type Row } from './harness';

export const AUDIT_VMS = 5000;
export const AUDIT_ROUTINES = 50;

export async function runAuditDirection(context: BenchContext): Promise<DirectionOutcome> {
  progress(`starting the NetBox + Proxbox simulator with ${AUDIT_VMS} VMs and ${AUDIT_ROUTINES} routines`);
  const netbox = forkNode(tsLaunch('audit-netbox.ts'));
  const ready = firstMessage<AuditNetboxReady>(netbox, 'NetBox simulator', 60_000);
  netbox.send({ vmCount: AUDIT_VMS, routineCount: AUDIT_ROUTINES } satisfies AuditNetboxJob);
  const served = await ready;
  progress('running one audit lifecycle (tsx, in-process handlers)');
  const job: AuditRunJob = { netboxUrl: served.url, token: served.token, endpoint: context.store.endpoint, region: context.store.region, bucket: BUCKET, workDir: context.workDir };
  const result = await runChildJob<AuditRunResult>(tsLaunch('audit-run.ts'), job, 'audit run', context.stepTimeoutMs, storeEnv(context.store));
  netbox.kill();
  const failures: string[] = [];
  if (!result.ok) failures.push(`audit run failed: ${result.error ?? '?'}`);
  else if (result.virtualMachines !== served.inScope || result.uncovered !== served.uncovered) {
    failures.push(`audit counted ${result.virtualMachines} in scope / ${result.uncovered} uncovered, expected ${served.inScope} / ${served.uncovered}`);
  }
  const row: Row = {
    name: `offsite audit (${AUDIT_VMS} VMs, ${AUDIT_ROUTINES} routines)`,
    seconds: result.elapsedMs / 1000,
    peakRssMiB: mib(peakRssBytes(result.memory)),
    note: result.ok ? `whole lifecycle, lists through S3; ${result.virtualMachines} in scope, ${result.uncovered} uncovered (as generated)` : `FAILED: ${result.error ?? '?'}`,
  };
  console.log('audit (NetBox + Proxbox -> coverage report in the archive)');
  printRows([row]);
  console.log(memoryLine('audit process', result.memory, 'audit'));
  return { failures, incomplete: false };
}

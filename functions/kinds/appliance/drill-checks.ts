// The checks after an appliance drill restore: the lab box reports the restore completed,
// runs the backup's software version and answers with a host name.
import { checkResult, type DrillCheckResult } from '../../drill/rules';
import type { ApplianceClient } from './client';
import type { ApplianceTarget } from './config';

interface RestoreOutput {
  readonly plan?: { readonly backup?: { readonly backupId?: string; readonly swVersion?: string | null } };
  readonly restore?: { readonly statusMessage?: string | null };
}

export async function applianceDrillChecks(target: ApplianceTarget, output: unknown, lab: Pick<ApplianceClient, 'restoreStatus' | 'deviceInfo'>): Promise<DrillCheckResult[]> {
  const { plan } = (output ?? {}) as RestoreOutput;
  const to = target.drill?.to ?? '?';
  const results: DrillCheckResult[] = [];
  try {
    const status = await lab.restoreStatus();
    results.push(checkResult('restore completed', status.status === 'completed', 'completed', status.status ?? null, `${to} reports restore_status "${status.status ?? '?'}"${status.status_message ? `: ${status.status_message}` : ''}`));
  } catch (error) {
    results.push(checkResult('restore completed', false, 'completed', null, `${to}'s restore_status could not be read: ${(error as Error).message}`));
  }
  let info: Awaited<ReturnType<ApplianceClient['deviceInfo']>>;
  try {
    info = await lab.deviceInfo();
  } catch (error) {
    info = undefined;
    results.push(checkResult('device info', false, null, null, `${to}'s device info could not be read: ${(error as Error).message}`));
  }
  const expectedVersion = plan?.backup?.swVersion ?? null;
  const version = info?.sw_version ?? null;
  results.push(
    checkResult(
      'software version',
      version !== null && (expectedVersion === null || version === expectedVersion),
      expectedVersion,
      version,
      version === null ? `${to} reports no software version` : `${to} runs ${version}; the backup was made on ${expectedVersion ?? 'an unrecorded version'}`,
    ),
  );
  const wanted = target.drill?.checks?.hostname ?? null;
  const hostname = info?.device_name ?? null;
  results.push(
    checkResult(
      'hostname',
      hostname !== null && hostname !== '' && (wanted === null || hostname === wanted),
      wanted,
      hostname,
      hostname === null ? `${to} reports no host name` : `${to} answers as ${hostname}${wanted !== null && hostname !== wanted ? `, not ${wanted}` : ''}`,
    ),
  );
  return results;
}

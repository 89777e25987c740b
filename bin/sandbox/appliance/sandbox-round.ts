import { createHash } from 'node:crypto';
import { backupCommand, listCommand, restoreCommand } from '../../cli/commands';
import { drillCommand } from '../../cli/drill';
import { formatBytes } from '../../cli/format';
import type { SandboxKind, SandboxSimulators } from '../kinds';
import { startApplianceSimulator, type ApplianceSimulator, type ApplianceSimulatorOptions } from '.';

export const SANDBOX_APPLIANCE_TARGET = 'appliance-sandbox';
/** The lab box the production appliance's drill restores onto: another appliance target, no schedule. */
export const SANDBOX_APPLIANCE_LAB_TARGET = 'appliance-lab-sandbox';
const APPLIANCE_PASSWORD_ENV = 'OFFSITE_SANDBOX_APPLIANCE_PASSWORD';
const APPLIANCE_LAB_PASSWORD_ENV = 'OFFSITE_SANDBOX_APPLIANCE_LAB_PASSWORD';
const LAB_HOSTNAME = 'ar11-sandbox-lab';
/** What an appliance drill checks (functions/drill/checks): restore_status, the software version, the host name. */
const APPLIANCE_DRILL_CHECKS = ['restore completed', 'software version', 'hostname'];

type SandboxAppliances = SandboxSimulators['appliance']['simulator'];

/** Requests that would change or restore an appliance: uploads, restores, backups made or deleted (token requests aside). */
const writes = (simulator: ApplianceSimulator) => simulator.requests.filter((request) => request.method !== 'GET' && !/\/(token|oauth)/.test(request.path));

async function startAppliances(options: ApplianceSimulatorOptions | undefined): Promise<SandboxAppliances> {
  const production = await startApplianceSimulator({ backupDurationMs: 1500, rebootWindowMs: 2500, ...options });
  try {
    // Only what the drill meets on the lab box follows the options; the rest (ports, faults, seeds) is the production box's.
    const lab = await startApplianceSimulator({
      rebootWindowMs: options?.rebootWindowMs ?? 1500,
      ...(options?.tls !== undefined ? { tls: options.tls } : {}),
      // The lab box runs the production box's software, or it would refuse the restore.
      info: { hostname: LAB_HOSTNAME, sw_version: production.info.sw_version },
    });
    return Object.assign(production, { lab });
  } catch (error) {
    await production.stop();
    throw error;
  }
}

function applianceTarget(name: string, simulator: ApplianceSimulator, passwordEnv: string): Record<string, unknown> {
  return {
    name,
    kind: 'appliance',
    baseUrl: simulator.url,
    auth: { method: 'token', apiVersion: '1.0', username: simulator.username, password: { env: passwordEnv } },
    // The simulator's certificate is self-signed, like a real appliance's: trust exactly its CA.
    ...(simulator.caPem ? { tls: { ca: { pem: simulator.caPem } } } : {}),
  };
}

declare module '../kinds' {
  interface SandboxSimulators {
    appliance: { simulator: ApplianceSimulator & { readonly lab: ApplianceSimulator }; options: ApplianceSimulatorOptions; target: true };
  }
}

/**
 * An appliance in the sandbox: back up (streamed off the box, verified), then simulate
 * replaced hardware (the appliance loses its backups) and restore the latest copy from
 * the archive, which uploads it and rides out the reboot; then drill it: the newest copy
 * restored onto a second simulator, the lab box, and checked there.
 */
export const sandboxKind: SandboxKind<SandboxAppliances, ApplianceSimulatorOptions> = {
  shorthand: 'appliance',
  start: startAppliances,
  targets: (simulator, poll, overrides) => ({
    targets: [
      {
        ...applianceTarget(SANDBOX_APPLIANCE_TARGET, simulator, APPLIANCE_PASSWORD_ENV),
        schedule: 'cron(30 2 * * ? *)',
        poll,
        applianceKeep: 1,
        restore: { rebootWindowMinutes: 2 },
        // The drill uploads the newest copy to the lab box and restores it there, never on this box.
        drill: { to: SANDBOX_APPLIANCE_LAB_TARGET, schedule: 'cron(0 5 ? * SUN *)', checks: { hostname: LAB_HOSTNAME } },
        ...overrides,
      },
      // Its own credentials and CA; no schedule: nothing backs the lab box up, drills only restore onto it.
      { ...applianceTarget(SANDBOX_APPLIANCE_LAB_TARGET, simulator.lab, APPLIANCE_LAB_PASSWORD_ENV), poll, restore: { rebootWindowMinutes: 2 } },
    ],
    env: { [APPLIANCE_PASSWORD_ENV]: simulator.password, [APPLIANCE_LAB_PASSWORD_ENV]: simulator.lab.password },
  }),
  describe: (simulator) => `appliance simulators at ${simulator.url} and ${simulator.lab.url} (lab box; self-signed, CAs in the config)`,
  async round({ simulator, config, io, step, sha256OfObject }) {
    const backup = await backupCommand(config, SANDBOX_APPLIANCE_TARGET, io);
    const archived = backup.archived;
    step(backup.exitCode === 0 && archived !== undefined, `appliance backup archived${archived ? `: ${archived.objectKey} (${formatBytes(archived.sizeBytes)})` : ''}`);
    if (!archived) return;
    const { listing } = await listCommand(config, SANDBOX_APPLIANCE_TARGET, { ...io, out: () => undefined });
    const copy = listing.copies.find((candidate) => candidate.manifest.objectKey === archived.objectKey);
    const served = copy ? createHash('sha256').update(simulator.backupBytes(copy.manifest.sourceBackupId)).digest('hex') : '';
    const stored = await sha256OfObject(archived.objectKey);
    step(
      copy !== undefined && stored === served && stored === copy.manifest.sha256 && copy.manifest.source.sw_version === simulator.info.sw_version,
      `archived bytes match the appliance's file, byte for byte (sha256 ${stored.slice(0, 16)}…); the manifest records hostname ${String(copy?.manifest.source.hostname)}, software ${String(copy?.manifest.source.sw_version)}`,
    );
    io.out('');
    sandboxKind.loseBackups?.(simulator);
    io.err('Simulating replaced hardware: the appliance no longer holds any backup.');
    const restore = await restoreCommand(config, SANDBOX_APPLIANCE_TARGET, io, { backup: 'latest', confirm: SANDBOX_APPLIANCE_TARGET });
    const restored = simulator.restores.at(-1);
    step(
      restore.exitCode === 0 && restored?.sha256 === stored,
      `appliance restore from the archive completed: uploaded identical bytes, rode out the reboot (${simulator.restores.length} restore started)`,
    );
    io.out('');
    const { lab } = simulator;
    const productionWrites = writes(simulator).length;
    const productionRestores = simulator.restores.length;
    const labRestores = lab.restores.length;
    const drill = await drillCommand(config, SANDBOX_APPLIANCE_TARGET, io);
    const checks = drill.report?.checks ?? [];
    const checked = APPLIANCE_DRILL_CHECKS.every((name) => checks.some((check) => check.name === name && check.passed));
    const labRestored = lab.restores.length === labRestores + 1 && lab.restores.at(-1)?.sha256 === drill.report?.copy.sha256;
    const productionUntouched = writes(simulator).length === productionWrites && simulator.restores.length === productionRestores;
    const observed = (name: string) => String(checks.find((check) => check.name === name)?.observed ?? '?');
    step(
      drill.exitCode === 0 && checked && labRestored && productionUntouched,
      `appliance drill restored onto the lab box ${SANDBOX_APPLIANCE_LAB_TARGET} and its checks passed (restore_status ${observed('restore completed')}, software ${observed('software version')}, hostname ${observed('hostname')}; restore ${((drill.report?.phases.restore.durationMs ?? 0) / 1000).toFixed(1)} s); ${SANDBOX_APPLIANCE_TARGET} ${productionUntouched ? 'received no upload or restore' : 'was WRITTEN TO by the drill'}`,
    );
  },
  tryCommands: [
    `npm run offsite -- list ${SANDBOX_APPLIANCE_TARGET}`,
    `npm run offsite -- backup ${SANDBOX_APPLIANCE_TARGET}`,
    `npm run offsite -- restore ${SANDBOX_APPLIANCE_TARGET} --backup latest --yes`,
    `npm run offsite -- drill ${SANDBOX_APPLIANCE_TARGET}`,
  ],
  loseBackups: (simulator) => simulator.deleteAllBackups(),
  stop: async (simulator) => {
    await Promise.all([simulator.stop(), simulator.lab.stop()]);
  },
};

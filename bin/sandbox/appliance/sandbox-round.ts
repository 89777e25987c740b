import { createHash } from 'node:crypto';
import { backupCommand, listCommand, restoreCommand } from '../../cli/commands';
import { formatBytes } from '../../cli/format';
import type { SandboxKind } from '../kinds';
import { startApplianceSimulator, type ApplianceSimulator, type ApplianceSimulatorOptions } from '.';

export const SANDBOX_APPLIANCE_TARGET = 'appliance-sandbox';
const APPLIANCE_PASSWORD_ENV = 'OFFSITE_SANDBOX_APPLIANCE_PASSWORD';

/**
 * An appliance in the sandbox: back up (streamed off the box, verified), then simulate
 * replaced hardware (the appliance loses its backups) and restore the latest copy from
 * the archive, which uploads it and rides out the reboot.
 */
export const applianceSandbox: SandboxKind<ApplianceSimulator, ApplianceSimulatorOptions> = {
  start: (options) => startApplianceSimulator({ backupDurationMs: 1500, rebootWindowMs: 2500, ...options }),
  targets: (simulator, poll, overrides) => ({
    targets: [
      {
        name: SANDBOX_APPLIANCE_TARGET,
        kind: 'appliance',
        baseUrl: simulator.url,
        auth: { method: 'token', apiVersion: '1.0', username: simulator.username, password: { env: APPLIANCE_PASSWORD_ENV } },
        // The simulator's certificate is self-signed, like a real appliance's: trust exactly its CA.
        ...(simulator.caPem ? { tls: { ca: { pem: simulator.caPem } } } : {}),
        schedule: 'cron(30 2 * * ? *)',
        poll,
        applianceKeep: 1,
        restore: { rebootWindowMinutes: 2 },
        ...overrides,
      },
    ],
    env: { [APPLIANCE_PASSWORD_ENV]: simulator.password },
  }),
  describe: (simulator) => `appliance simulator at ${simulator.url} (self-signed, CA in the config)`,
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
    simulator.deleteAllBackups();
    io.err('Simulating replaced hardware: the appliance no longer holds any backup.');
    const restore = await restoreCommand(config, SANDBOX_APPLIANCE_TARGET, io, { backup: 'latest', confirm: SANDBOX_APPLIANCE_TARGET });
    const restored = simulator.restores.at(-1);
    step(
      restore.exitCode === 0 && restored?.sha256 === stored,
      `appliance restore from the archive completed: uploaded identical bytes, rode out the reboot (${simulator.restores.length} restore started)`,
    );
  },
  tryCommands: [
    `npm run offsite -- list ${SANDBOX_APPLIANCE_TARGET}`,
    `npm run offsite -- backup ${SANDBOX_APPLIANCE_TARGET}`,
    `npm run offsite -- restore ${SANDBOX_APPLIANCE_TARGET} --backup latest --yes`,
  ],
  stop: (simulator) => simulator.stop(),
};

import { createHash } from 'node:crypto';
import { backupCommand, listCommand, restoreCommand } from '../../cli/commands';
import { drillCommand } from '../../cli/drill';
import { formatBytes } from '../../cli/format';
import type { SandboxKind } from '../kinds';
import { startNetboxCloudSimulator, type NetboxCloudSimulator, type NetboxCloudSimulatorOptions } from '.';

export const SANDBOX_NETBOX_TARGET = 'netbox-sandbox';
export const SANDBOX_SOURCE_INSTANCE = 'nb-a12ff000777';
export const SANDBOX_RESTORE_INSTANCE = 'nb-b23ff000888';
const NETBOX_KEY_ENV = 'OFFSITE_SANDBOX_NETBOX_CLOUD_KEY';
const NETBOX_REST_TOKEN_ENV = 'OFFSITE_SANDBOX_NETBOX_REST_TOKEN';

declare module '../kinds' {
  interface SandboxSimulators {
    netboxCloud: { simulator: NetboxCloudSimulator; options: NetboxCloudSimulatorOptions };
  }
}

/** NetBox Cloud in the sandbox: back up an instance, check the copy byte for byte, restore the latest backup onto a second instance. */
export const sandboxKind: SandboxKind<NetboxCloudSimulator, NetboxCloudSimulatorOptions> = {
  shorthand: 'netboxCloud',
  start: (options) => startNetboxCloudSimulator({ backupRequestDurationMs: 1500, retrievalDurationMs: 1000, restoreDurationMs: 1500, ...options }),
  targets: (simulator, poll) => ({
    targets: [
      {
        name: SANDBOX_NETBOX_TARGET,
        kind: 'netbox-cloud',
        baseUrl: simulator.url,
        orgId: simulator.orgId,
        instanceId: SANDBOX_SOURCE_INSTANCE,
        credentials: { env: NETBOX_KEY_ENV },
        schedule: 'cron(0 2 * * ? *)',
        poll,
        retention: { keepLast: 3, keepDaily: 7 },
        // The drill restores onto the second instance and checks it through its REST API.
        drill: {
          to: SANDBOX_RESTORE_INSTANCE,
          schedule: 'cron(0 4 ? * SUN *)',
          checks: {
            restored: { baseUrl: simulator.restApiUrl(SANDBOX_RESTORE_INSTANCE), credentials: { env: NETBOX_REST_TOKEN_ENV } },
            source: { baseUrl: simulator.restApiUrl(SANDBOX_SOURCE_INSTANCE), credentials: { env: NETBOX_REST_TOKEN_ENV } },
            // The form the README's drill example shows.
            objectCounts: ['dcim/devices', 'ipam/prefixes'],
            tolerancePercent: 2,
          },
        },
      },
    ],
    env: { [NETBOX_KEY_ENV]: simulator.apiKey, [NETBOX_REST_TOKEN_ENV]: simulator.restToken },
  }),
  describe: (simulator) => `NetBox Cloud simulator at ${simulator.url}`,
  async round({ simulator, config, io, step, sha256OfObject }) {
    const backup = await backupCommand(config, SANDBOX_NETBOX_TARGET, io);
    const archived = backup.archived;
    step(backup.exitCode === 0 && archived !== undefined, `netbox-cloud backup archived${archived ? `: ${archived.objectKey} (${formatBytes(archived.sizeBytes)})` : ''}`);
    if (archived) {
      const { listing } = await listCommand(config, SANDBOX_NETBOX_TARGET, { ...io, out: () => undefined });
      const copy = listing.copies.find((candidate) => candidate.manifest.objectKey === archived.objectKey);
      const served = copy ? createHash('sha256').update(simulator.backupBytes(copy.manifest.sourceBackupId)).digest('hex') : '';
      const stored = await sha256OfObject(archived.objectKey);
      step(
        copy !== undefined && stored === served && stored === copy.manifest.sha256,
        `archived bytes match what NetBox Cloud served, byte for byte (sha256 ${stored.slice(0, 16)}…), and the manifest agrees`,
      );
      io.out('');
      await listCommand(config, SANDBOX_NETBOX_TARGET, io);
      io.out('');
    }
    const restore = await restoreCommand(config, SANDBOX_NETBOX_TARGET, io, { backup: 'latest', to: SANDBOX_RESTORE_INSTANCE, confirm: SANDBOX_RESTORE_INSTANCE });
    step(restore.exitCode === 0, `netbox-cloud restore of the latest backup onto ${SANDBOX_RESTORE_INSTANCE} completed`);
    io.out('');
    const drill = await drillCommand(config, SANDBOX_NETBOX_TARGET, io);
    step(
      drill.exitCode === 0,
      `netbox-cloud drill onto ${SANDBOX_RESTORE_INSTANCE} passed (${drill.report?.checks.map((check) => check.name).join(', ') ?? 'no report'}; restore ${((drill.report?.phases.restore.durationMs ?? 0) / 1000).toFixed(1)} s)`,
    );
  },
  tryCommands: [
    `npm run offsite -- list ${SANDBOX_NETBOX_TARGET}`,
    `npm run offsite -- backup ${SANDBOX_NETBOX_TARGET}`,
    `npm run offsite -- restore ${SANDBOX_NETBOX_TARGET} --backup latest --to ${SANDBOX_RESTORE_INSTANCE} --yes`,
    `npm run offsite -- drill ${SANDBOX_NETBOX_TARGET}`,
  ],
  remoteRestore: { target: SANDBOX_NETBOX_TARGET, to: SANDBOX_RESTORE_INSTANCE },
  stop: (simulator) => simulator.stop(),
};

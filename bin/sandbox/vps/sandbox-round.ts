import { backupCommand, listCommand, restoreCommand } from '../../cli/commands';
import { drillCommand } from '../../cli/drill';
import type { SandboxKind } from '../kinds';
import { startVpsSimulator, type VpsSimulator, type VpsSimulatorOptions } from '.';

export const SANDBOX_VPS_TARGET = 'vps-sandbox';
export const SANDBOX_VPS_SERVER = 12345;
export const SANDBOX_VPS_DRILL_SERVER = 67890;
const VPS_TOKEN_ENV = 'OFFSITE_SANDBOX_VPS_TOKEN';

declare module '../kinds' {
  interface SandboxSimulators {
    vps: { simulator: VpsSimulator; options: VpsSimulatorOptions; target: true };
  }
}

/** The VPS provider in the sandbox: make a manual backup (catalogued, held by the provider), list, restore the newest completed backup. */
export const sandboxKind: SandboxKind<VpsSimulator, VpsSimulatorOptions> = {
  shorthand: 'vps',
  start: (options) => startVpsSimulator({ backupDurationMs: 1500, restoreDurationMs: 1500, restoreVisibleReads: 1, restoreOntoOtherServers: true, ...options }),
  targets: (simulator, poll, overrides) => ({
    targets: [
      {
        name: SANDBOX_VPS_TARGET,
        kind: 'vps',
        baseUrl: simulator.url,
        serverId: SANDBOX_VPS_SERVER,
        credentials: { env: VPS_TOKEN_ENV },
        schedule: 'cron(0 3 * * ? *)',
        poll,
        retention: { keepLast: 2 },
        // The drill restores the newest backup onto the spare server.
        drill: { to: SANDBOX_VPS_DRILL_SERVER, schedule: 'cron(0 5 ? * SUN *)' },
        ...overrides,
      },
    ],
    env: { [VPS_TOKEN_ENV]: simulator.token },
  }),
  describe: (simulator) => `VPS provider simulator at ${simulator.url}`,
  async round({ simulator, config, io, step }) {
    const backup = await backupCommand(config, SANDBOX_VPS_TARGET, io);
    const { listing } = await listCommand(config, SANDBOX_VPS_TARGET, { ...io, out: () => undefined, err: () => undefined });
    const held = new Set(simulator.listBackups().map((item) => String(item.id)));
    const records = listing.providerRecords;
    step(
      backup.exitCode === 0 && records.length > 0 && records.every(({ record }) => held.has(record.sourceBackupId)),
      `vps backup made at the provider and catalogued (${records.length} record(s), each a backup the provider holds — held by the provider, not off-site)`,
    );
    io.out('');
    await listCommand(config, SANDBOX_VPS_TARGET, io);
    io.out('');
    const restore = await restoreCommand(config, SANDBOX_VPS_TARGET, io, { backup: 'latest', confirm: SANDBOX_VPS_TARGET });
    step(restore.exitCode === 0 && simulator.serverStatus(SANDBOX_VPS_SERVER) === 'running', `vps restore of the latest backup onto server ${SANDBOX_VPS_SERVER} finished (the server reports running)`);
    io.out('');
    const drill = await drillCommand(config, SANDBOX_VPS_TARGET, io);
    step(
      drill.exitCode === 0,
      `vps drill onto server ${SANDBOX_VPS_DRILL_SERVER} passed (${drill.report?.checks.map((check) => check.name).join(', ') ?? 'no report'}; restore ${((drill.report?.phases.restore.durationMs ?? 0) / 1000).toFixed(1)} s)`,
    );
  },
  tryCommands: [
    `npm run offsite -- backup ${SANDBOX_VPS_TARGET}`,
    `npm run offsite -- list ${SANDBOX_VPS_TARGET}`,
    `npm run offsite -- prune ${SANDBOX_VPS_TARGET} --dry-run`,
    `npm run offsite -- restore ${SANDBOX_VPS_TARGET} --backup latest --yes`,
  ],
  stop: (simulator) => simulator.stop(),
};

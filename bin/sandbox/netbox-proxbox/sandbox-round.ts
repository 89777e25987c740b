import { auditCommand } from '../../cli/audit';
import type { AuditReport } from '../../../functions/kinds/netbox-proxbox/coverage';
import type { SandboxKind } from '../kinds';
import { coverEverythingRoutine, SANDBOX_UNCOVERED, sandboxEstate } from './estate';
import { startNetboxProxboxSimulator, type NetboxProxboxSimulator, type NetboxProxboxSimulatorOptions } from '.';

export const SANDBOX_PROXBOX_TARGET = 'netbox-proxbox-sandbox';
const TOKEN_ENV = 'OFFSITE_SANDBOX_NETBOX_TOKEN';

declare module '../kinds' {
  interface SandboxSimulators {
    netboxProxbox: { simulator: NetboxProxboxSimulator; options: NetboxProxboxSimulatorOptions; target: true };
  }
}

/** Self-hosted NetBox + Proxbox in the sandbox: audit an estate with gaps, then add a routine covering every VM and audit again. */
export const sandboxKind: SandboxKind<NetboxProxboxSimulator, NetboxProxboxSimulatorOptions> = {
  shorthand: 'netboxProxbox',
  start: (options) => startNetboxProxboxSimulator({ estate: sandboxEstate(), ...options }),
  targets: (simulator, _poll, overrides) => ({
    targets: [
      {
        name: SANDBOX_PROXBOX_TARGET,
        kind: 'netbox-proxbox',
        baseUrl: simulator.url,
        credentials: { env: TOKEN_ENV },
        schedule: 'cron(0 6 * * ? *)',
        coverage: { requireReplication: false, maxBackupAgeHours: 26, minimumRetention: { keepDaily: 7 }, ignoreTags: ['no-backup'] },
        ...overrides,
      },
    ],
    env: { [TOKEN_ENV]: simulator.token },
  }),
  describe: (simulator) => `NetBox + Proxbox simulator at ${simulator.url}`,
  async round({ simulator, config, io, step }) {
    const first = await auditCommand<AuditReport>(config, SANDBOX_PROXBOX_TARGET, io);
    const named = (first.report?.uncovered ?? []).map((vm) => vm.name).sort();
    step(
      first.exitCode === 1 && JSON.stringify(named) === JSON.stringify(SANDBOX_UNCOVERED),
      `netbox-proxbox audit named exactly the uncovered VMs (${named.join(', ') || 'none'}) of ${first.report?.virtualMachines ?? '?'} in scope, and exited 1 while gaps exist`,
    );
    const codes = new Set<string>((first.report?.findings ?? []).map((finding) => finding.code));
    const expected = ['routine-disabled', 'routine-stale', 'routine-unscheduled', 'retention-below-minimum', 'backup-too-old', 'selection-unknown-vmid'];
    step(expected.every((code) => codes.has(code)), `netbox-proxbox audit reported the disabled, stale and unscheduled routines, the short retention, the too-old backup and the unknown VMID`);
    io.out('');
    simulator.estate.backupRoutines.push(coverEverythingRoutine(100));
    const second = await auditCommand<AuditReport>(config, SANDBOX_PROXBOX_TARGET, { ...io, out: () => undefined });
    step(second.exitCode === 0 && second.report?.uncovered.length === 0, 'netbox-proxbox audit exits 0 once a routine covers every VM');
  },
  tryCommands: [`npm run offsite -- audit ${SANDBOX_PROXBOX_TARGET}`, `npm run offsite -- audit ${SANDBOX_PROXBOX_TARGET} --json`],
  stop: (simulator) => simulator.stop(),
};

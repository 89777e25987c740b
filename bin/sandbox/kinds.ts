// What the sandbox needs of each kind: its simulator, the sandbox target that points at
// it, and the round `npm start` plays with it. A kind in the registry without an entry
// here does not compile (SandboxKinds is keyed by TargetKind).
import type { TargetKind } from '../../functions/kinds/registry';
import type { CliIo } from '../cli/commands';
import type { OffsiteConfig } from '../../functions/config/schema';
import type { ApplianceSimulator, ApplianceSimulatorOptions } from './appliance';
import type { NetboxCloudSimulator, NetboxCloudSimulatorOptions } from './netbox-cloud';
import type { NetboxProxboxSimulator, NetboxProxboxSimulatorOptions } from './netbox-proxbox';
import type { VpsSimulator, VpsSimulatorOptions } from './vps';

export interface PollSettings {
  readonly initialSeconds: number;
  readonly maxSeconds: number;
  readonly timeoutMinutes: number;
}

/** One line of the summary: ✔ or ✘ and what happened. */
export type Step = (ok: boolean, line: string) => void;

export interface RoundContext<Simulator> {
  readonly simulator: Simulator;
  readonly config: OffsiteConfig;
  readonly io: CliIo;
  readonly step: Step;
  /** SHA-256 of an archived object, read back from the local store. */
  readonly sha256OfObject: (key: string) => Promise<string>;
}

export interface SandboxKind<Simulator, Options> {
  start(options: Options | undefined): Promise<Simulator>;
  /** The sandbox's targets of this kind, and the environment variables their credentials are read from. */
  targets(simulator: Simulator, poll: PollSettings, overrides: Record<string, unknown> | undefined): { targets: Record<string, unknown>[]; env: Record<string, string> };
  /** "NetBox Cloud simulator at http://…" for the banner. */
  describe(simulator: Simulator): string;
  /** What `npm start` does with this kind: back up, check byte for byte, restore. */
  round(context: RoundContext<Simulator>): Promise<void>;
  /** Commands a newcomer can try against this kind's sandbox target (`offsite sandbox --serve`). */
  readonly tryCommands: readonly string[];
  stop(simulator: Simulator): Promise<void>;
}

/** Each kind's simulator and its options; a registered kind missing here is a compile error below. */
export interface SandboxSimulators {
  'netbox-cloud': { simulator: NetboxCloudSimulator; options: NetboxCloudSimulatorOptions };
  /** The production appliance, with the lab box its drill restores onto alongside. */
  appliance: { simulator: ApplianceSimulator & { readonly lab: ApplianceSimulator }; options: ApplianceSimulatorOptions };
  vps: { simulator: VpsSimulator; options: VpsSimulatorOptions };
  'netbox-proxbox': { simulator: NetboxProxboxSimulator; options: NetboxProxboxSimulatorOptions };
}

export type SandboxKinds = { readonly [K in TargetKind]: SandboxKind<SandboxSimulators[K]['simulator'], SandboxSimulators[K]['options']> };

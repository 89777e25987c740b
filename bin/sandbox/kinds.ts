// What the sandbox needs of each kind: its simulator, the sandbox target that points at
// it, and the round `npm start` plays with it. Each kind keeps its part in one fixed place,
// bin/sandbox/<kind>/sandbox-round.ts, exporting `sandboxKind`; the sandbox loads it by
// that path for every kind of the registry (a kind without it fails to start, naming the
// path), so the sandbox names no kind. The kind's file also adds its simulator's type to
// SandboxSimulators below (declaration merging), which types the environment's shorthands.
import type { OffsiteConfig } from '../../functions/config/schema';
import type { CliIo } from '../cli/commands';

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

/** A restore the sandbox also plays in remote mode, through a local Step Functions endpoint (one kind offers it). */
export interface RemoteRestore {
  readonly target: string;
  /** What `--to` names. */
  readonly to: string;
}

export interface SandboxKind<Simulator, Options> {
  /**
   * The name the environment gives this kind's simulator (`sandbox.<shorthand>`) and the
   * options it takes (`<shorthand>` for the simulator, `<shorthand>Target` for overrides of
   * the target's configuration), as the kind declares them in SandboxSimulators.
   */
  readonly shorthand: string;
  start(options: Options | undefined): Promise<Simulator>;
  /** The sandbox's targets of this kind, and the environment variables their credentials are read from. */
  targets(simulator: Simulator, poll: PollSettings, overrides: Record<string, unknown> | undefined): { targets: Record<string, unknown>[]; env: Record<string, string> };
  /** "NetBox Cloud simulator at http://…" for the banner. */
  describe(simulator: Simulator): string;
  /** What `npm start` does with this kind: back up, check byte for byte, restore. */
  round(context: RoundContext<Simulator>): Promise<void>;
  /** Commands a newcomer can try against this kind's sandbox target (`offsite sandbox --serve`). */
  readonly tryCommands: readonly string[];
  /** The restore `npm start` repeats in remote mode, and `--serve` suggests; one kind of the registry gives it. */
  readonly remoteRestore?: RemoteRestore;
  /**
   * The vendor loses every backup it held (replaced hardware), so the next restore must
   * come from the archive: for a kind whose restores can. The second copy's demonstration
   * (a restore from the secondary when the primary copy rots) uses it.
   */
  loseBackups?(simulator: Simulator): void;
  stop(simulator: Simulator): Promise<void>;
}

/**
 * Each kind's simulator and options, under its shorthand; empty here, each kind's
 * sandbox-round.ts adds its own entry:
 *
 *     declare module '../kinds' {
 *       interface SandboxSimulators { vps: { simulator: VpsSimulator; options: VpsSimulatorOptions; target: true } }
 *     }
 *
 * `target: true` when the kind takes overrides of its sandbox target (`vpsTarget`).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface SandboxSimulators {}

/** Any kind's entry, its simulator type forgotten (its members are methods, so any entry is one): what the sandbox iterates over. */
export type AnySandboxKind = SandboxKind<unknown, unknown>;

/** The sandbox part of a kind (bin/sandbox/<kind>/sandbox-round.ts), loaded by that path. */
export function loadSandboxKind(kind: string): AnySandboxKind {
  // require, not import(): it loads TypeScript under the CLI's tsx hook and jest alike.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const module = require(`./${kind}/sandbox-round.ts`) as { sandboxKind?: AnySandboxKind };
  if (module.sandboxKind === undefined) throw new Error(`bin/sandbox/${kind}/sandbox-round.ts exports no sandboxKind`);
  return module.sandboxKind;
}

// What one kind of target is made of. Each kind's folder exports one KindDefinition
// (functions/kinds/<kind>/kind.ts) and functions/kinds/registry.ts lists them; the stack,
// the function catalog, the local runner, the CLI and the test harness iterate over that
// list. The definition is plain data and pure functions: the CDK app and every Lambda
// bundle can import it without pulling in a vendor client or the AWS SDK. What runs in a
// function (clients, credentials resolved, downloads prepared) lives in the kind's
// handlers/, which the definition names by file.
import type { z } from 'zod';
import type { CredentialsRef } from '../config/common';
import type { ArchiveListing } from '../archive/listing';
import type { PruneReport } from '../archive/prune-report';
import type { OffsiteConfig } from '../config/schema';
import type { KindDrillRules } from '../drill/rules';

/** What a function may do in the archive bucket. */
export type ArchiveAccess = 'none' | 'read' | 'write' | 'read-write';

/**
 * Where a function must be able to reach: 'internet' (SaaS APIs), or 'private-network'
 * (systems on the team's own networks: placed in the configured VPC, when there is one).
 */
export type NetworkReach = 'internet' | 'private-network';

/** One Lambda function of a kind: one Task's API call. */
export interface KindFunctionSpec {
  /** Unique across kinds; the ASL names it as `${<id>FunctionArn}`. */
  readonly id: string;
  /** Handler module, relative to the repository root; it exports `handler`. */
  readonly entry: string;
  readonly description: string;
  readonly archive: ArchiveAccess;
  /**
   * What it does in the secondary archive (`archive.secondary`), when one is configured;
   * absent: nothing. The stack grants it there, and its access key's secret, only then.
   */
  readonly secondary?: ArchiveAccess;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /** NODE_OPTIONS of the function (and of the benchmark's copier run as deployed). */
  readonly nodeOptions: string;
  readonly network: NetworkReach;
  /**
   * The call creates something at the vendor (a backup, a retrieval, a restore, an
   * upload): a Task calling it is never repeated after an answer that may come after the
   * vendor acted (the ASL policy test checks every Task that names this function).
   */
  readonly creates: boolean;
}

/** `audit`: a lifecycle that reads the target and reports on it (netbox-proxbox); it makes no backups. */
export type LifecyclePurpose = 'backup' | 'restore' | 'audit';

export interface KindLifecycleSpec {
  readonly id: string;
  readonly purpose: LifecyclePurpose;
  /** ASL file, relative to the repository root. */
  readonly definitionFile: string;
  /** Hard ceiling on one execution, above the longest poll budget the config allows. */
  readonly timeoutHours: number;
}

/**
 * One reference to a secret a target carries. The same list grants the functions their
 * secrets (IAM), warns at synth about `env` references, and is what the kind's handlers
 * resolve at run time.
 */
export interface CredentialReference {
  /** Where it is in the target's configuration, e.g. "credentials", "auth.password", "tls.ca". */
  readonly field: string;
  readonly ref: CredentialsRef;
  /** A secret holding JSON keeps the value under this key (e.g. "apiKey"); undefined: the whole secret is the value. */
  readonly jsonKey: string | undefined;
  /** Passwords may contain spaces; tokens and keys may not. */
  readonly spacesAllowed: boolean;
}

/** What the alarm descriptions tell the on-call person about this kind (the parts for the lifecycles it has). */
export interface KindAlarmHints {
  /** Error/Cause of a failed backup execution → what to check. */
  readonly backupFailed?: string;
  /** What a backup that hit the hard time limit was usually waiting for, and where to look. */
  readonly backupTimedOut?: string;
  /** Error/Cause of a failed restore execution → what to check. */
  readonly restoreFailed?: string;
  /** What may still be going on at the vendor after a restore execution stopped, and where to look. */
  readonly restoreStillRunning?: string;
  /** For a kind with an audit lifecycle. */
  readonly audit?: AuditAlarmHints;
}

export interface AuditAlarmHints {
  /** Error/Cause of a failed audit execution → what to check. */
  readonly auditFailed: string;
  /** What to look at when the audit finds targets without cover. */
  readonly coverageGap: string;
  /** The metrics the audit publishes: the coverage-gap alarm and the dashboard read them. */
  readonly metrics: AuditMetricNames;
}

export interface AuditMetricNames {
  readonly namespace: string;
  /** Things in scope without cover (per Target, and per group dimension for the alarm). */
  readonly uncovered: string;
  /** Findings (per Target and Severity). */
  readonly findings: string;
  /** The dimension the uncovered count is also published under per audit group. */
  readonly groupDimension: string;
}

/** The restore options of the command line; a kind names those it takes. */
export interface RestoreOptions {
  /** A backup id, or "latest". */
  readonly backup?: string;
  /** An archive object key. */
  readonly archiveKey?: string;
  /** Another instance or server to restore onto. */
  readonly to?: string;
  readonly allowVersionMismatch?: boolean;
}

export type RestoreOption = keyof RestoreOptions;

export type JsonObject = { readonly [key: string]: string | number | boolean | null };

export interface KindRestoreRules<Target> {
  /** The command-line options this kind's restore takes; any other is refused (exit 2) naming it. */
  readonly options: readonly RestoreOption[];
  /** `offsite restore --help` for the options only some kinds take, in this kind's words (e.g. "appliances: …"). */
  readonly optionHelp?: Readonly<Partial<Record<RestoreOption, string>>>;
  /**
   * What a restore overwrites, and so what the operator types to confirm it (console:
   * `confirm`). Throws InvalidInput when the kind cannot restore onto `to`.
   */
  destination(target: Target, to: string | undefined): string;
  /** The execution input, exactly as a console user would give it. */
  input(target: Target, options: RestoreOptions, confirm: string): JsonObject;
  /** What the CLI says before it starts. */
  announce(target: Target, options: RestoreOptions, destination: string): string;
  /** The success summary, from the execution's output. */
  summarize(target: Target, output: unknown, destination: string): string[];
}

/**
 * What `offsite backup` prints for a kind whose backup lifecycle ends without an archived
 * copy in `state.archive` (vps: a catalogue record of a backup the provider holds).
 * Kinds without it print the archived copy.
 */
export interface KindBackupRules<Target> {
  /** What the CLI says before it starts; `archiveUrl` is where records or copies of the target go. */
  announce(target: Target, archiveUrl: string): string;
  /** From the lifecycle's final state: the `--json` document's fields and the plain lines. */
  summarize(target: Target, output: unknown): { readonly json: { readonly [key: string]: unknown }; readonly lines: readonly string[] };
}

export interface KindDefinition<Target extends { readonly name: string; readonly kind: string }> {
  readonly kind: Target['kind'];
  /** How people call it, e.g. "NetBox Cloud". */
  readonly title: string;
  readonly configSchema: z.ZodType<Target>;
  /** Every secret reference the target carries (credentials, CA bundles). */
  credentialReferences(target: Target): readonly CredentialReference[];
  /** Warnings the CLI prints before any run (the functions log them too). */
  warnings(target: Target): readonly string[];
  readonly functions: readonly KindFunctionSpec[];
  readonly lifecycles: readonly KindLifecycleSpec[];
  /** The state whose Ctrl-C cancels a transfer cleanly, per lifecycle purpose (absent: none). */
  readonly transferStates: Readonly<Partial<Record<LifecyclePurpose, string | undefined>>>;
  readonly alarmHints: KindAlarmHints;
  /** Absent for a kind that cannot restore (netbox-proxbox only audits): the CLI refuses `restore` for it. */
  readonly restore?: KindRestoreRules<Target>;
  /** How `offsite backup` reports a run; absent: the archived copy (`state.archive`). */
  readonly backup?: KindBackupRules<Target>;
  /** Restore drills (`drill` on a target, `offsite drill`); absent: the kind has none. */
  readonly drill?: KindDrillRules<Target>;
  /**
   * The kind's command-line hooks (laptop only: they may use its client and the AWS SDK),
   * as a file relative to the repository root exporting `kindCommands` (KindCommands in
   * bin/cli/kind-commands.ts): `list` and `prune` at the vendor, the `audit` report.
   * Absent: the archive's behaviour.
   */
  readonly cli?: string;
  /** For a kind with an audit lifecycle: what `offsite audit` says it checks, and its help (what the report shows, when it exits 1). */
  readonly auditWording?: { readonly announce: string; readonly help: string };
  /** The error classes only this kind throws (its errors.ts), by export name: its ASL may name them, no other may. */
  readonly errors?: KindErrorClasses;
  /** The Error names only this kind's Fail states use, and what each means (its outcomes.ts). */
  readonly outcomes?: Readonly<Record<string, string>>;
}

// The command-line hooks a kind's `cli` file exports as `kindCommands` (bin/cli/kind-commands.ts loads it).

/** What `offsite audit` prints from the report the audit lifecycle wrote. */
export interface AuditPresentation {
  /** 0 when the audit found nothing to act on, 1 otherwise. */
  readonly exitCode: number;
  /** The `--json` document. */
  readonly json: { readonly [key: string]: unknown };
  /** The plain output. */
  readonly lines: readonly string[];
}

export interface KindCommands<Target> {
  /** Applies the target's retention at the vendor (instead of to the archive's copies). */
  readonly prune?: (config: OffsiteConfig, target: Target, options: { readonly dryRun: boolean }) => Promise<PruneReport>;
  /** What `offsite list` adds after the archive's listing (the provider's backups, marked made by offsite or not). */
  readonly list?: (
    config: OffsiteConfig,
    target: Target,
    listing: ArchiveListing,
    now: Date,
  ) => Promise<{ readonly json: { readonly [key: string]: unknown }; readonly lines: readonly string[]; readonly warnings: readonly string[] }>;
  /** The audit report (as the audit lifecycle stored it) in the command line's words. */
  readonly audit?: (report: unknown) => AuditPresentation;
}

/** An errors.ts module's exports: each an Error class whose `name` is its export name. */
export type KindErrorClasses = { readonly [exportName: string]: new (message: string) => Error };

/**
 * The lifecycle a target's `schedule` starts: its backup where the kind has one, else its
 * audit (a kind that only audits, like netbox-proxbox); undefined when it has neither.
 */
export function scheduledPurpose(definition: { readonly lifecycles: readonly KindLifecycleSpec[] }): LifecyclePurpose | undefined {
  const purposes = definition.lifecycles.map((lifecycle) => lifecycle.purpose);
  return purposes.includes('backup') ? 'backup' : purposes.includes('audit') ? 'audit' : undefined;
}

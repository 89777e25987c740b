// The offsite command line, built apart from running it so the README's examples can be parsed by it.
import { createInterface } from 'node:readline/promises';
import { Command, Option } from 'commander';
import { findTarget, resolveConfigPath } from '../../functions/config/load';
import type { RestoreOption } from '../../functions/kinds/kind';
import { KIND_LIST } from '../../functions/kinds/registry';
import { InvalidInput } from '../../functions/shared/errors';
import { backupCommand, listCommand, restoreCommand, restoreDestination, useConfig, type CliIo } from './commands';
import { sandboxCommand } from '../sandbox/sandbox';
import { auditCommand } from './audit';
import { statusCommand } from './status';
import { drillCommand } from './drill';
import { verifyCommand } from './verify';
import { pruneCommand } from './prune';
import { protectCommand } from './protect';
import { executionsCommand } from './executions';
import { backupAllCommand } from './backup-all';
import { runnerFor, withRemoteOptions, withStackOptions } from '../remote/cli-options';
import { remoteFanOutRunner, type RemoteOptions } from '../remote/remote-runner';

export const io: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  errStream: process.stderr,
};

/** Exit code 2: bad input or configuration (bin/offsite.ts sets the others). */
const EXIT_USAGE = 2;

async function typedConfirmation(expected: string): Promise<string | undefined> {
  if (!process.stdin.isTTY) return undefined;
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await prompt.question(`This overwrites ${expected}. Type ${expected} to continue: `)).trim();
  } finally {
    prompt.close();
  }
}

/** `offsite audit`'s help: each auditing kind's words, e.g. "netbox-proxbox: the backup coverage report (…)". */
function auditHelp(): string {
  return KIND_LIST.flatMap((definition) => {
    const wording = (definition as { readonly auditWording?: { readonly help: string } }).auditWording;
    return wording ? [`${definition.kind}: ${wording.help}`] : [];
  }).join('; ');
}

/** `offsite restore --help` for an option only some kinds take: each such kind's words. */
function restoreOptionHelp(option: RestoreOption): string {
  return KIND_LIST.flatMap((definition) => {
    const help = (definition as { readonly restore?: { readonly optionHelp?: Partial<Record<RestoreOption, string>> } }).restore?.optionHelp?.[option];
    return help === undefined ? [] : [help];
  }).join('; ');
}

/** The command line: every command, option and action (bin/offsite.ts runs it; the README test parses with it). */
export function program(): Command {
  const cli = new Command('offsite')
    .description('Verified off-site backups and safe restores, run locally with the same state machines as in AWS.')
    .option('-c, --config <path>', 'configuration file (default: $OFFSITE_CONFIG or ./offsite.config.json)')
    .option('--verbose', 'also print the functions\' structured logs')
    .showHelpAfterError()
    .exitOverride();

  const configPath = (): string => resolveConfigPath(cli.opts<{ config?: string }>().config);
  addLifecycleCommands(cli, configPath);
  addArchiveCommands(cli, configPath);
  addOperationsCommands(cli, configPath);

  return cli;
}

/** `backup` and `restore`: the commands that run a target's lifecycles. */
function addLifecycleCommands(cli: Command, configPath: () => string): void {
  withRemoteOptions(cli
    .command('backup')
    .description('run one backup lifecycle; exit 0 only when the copy is verified in the archive (--all: every configured target through the fan-out)')
    .argument('[target]', 'a configured target name')
    .option('--json', 'print the result as JSON')
    .option('--all', 'back up every configured target (in this process, or with --remote through the deployed fan-outs), at most fleet.maxConcurrency per kind at once; exit 0 only when all succeeded')
    .option('--kind <kind>', 'with --all: only targets of this kind')
    .option('--concurrency <n>', "with --all: at most n targets per kind at once instead of the configuration's"))
    .action(async (targetName: string | undefined, options: { json?: boolean; all?: boolean; kind?: string; concurrency?: string } & RemoteOptions) => {
      const config = useConfig(configPath());
      if (options.all || targetName === undefined) {
        if (!options.all || targetName !== undefined) throw new InvalidInput('Give a target name, or --all (not both).');
        // --remote: the deployed fan-outs; otherwise stack options are refused as for one target.
        const fanOut = runnerFor(config, io, options).where === 'remote' ? remoteFanOutRunner(config, io, options) : undefined;
        process.exitCode = (
          await backupAllCommand(config, io, { kind: options.kind, ...(options.concurrency !== undefined ? { concurrency: Number(options.concurrency) } : {}), ...(fanOut ? { fanOut } : {}) })
        ).exitCode;
        return;
      }
      const result = await backupCommand(config, targetName, io, { json: options.json ?? false }, runnerFor(config, io, options));
      process.exitCode = result.exitCode;
    });

  withRemoteOptions(cli
    .command('restore')
    .description('run one restore lifecycle; exit 0 only when the vendor reports the restore completed')
    .argument('<target>', 'a configured target name')
    .option('--backup <id|latest>', 'the backup to restore: its id, or "latest"')
    .option('--archive-key <key>', restoreOptionHelp('archiveKey'))
    .option('--to <instance>', restoreOptionHelp('to'))
    .option('--allow-version-mismatch', restoreOptionHelp('allowVersionMismatch'))
    .option('--yes', 'confirm the restore (the typed confirmation a console user gives)'))
    .action(async (targetName: string, options: { backup?: string; archiveKey?: string; to?: string; allowVersionMismatch?: boolean; yes?: boolean } & RemoteOptions) => {
      const config = useConfig(configPath());
      const runner = runnerFor(config, io, options);
      const destination = restoreDestination(findTarget(config, targetName), options.to);
      const confirm = options.yes ? destination : await typedConfirmation(destination);
      if (confirm !== destination) {
        io.err(`Nothing was restored: restoring overwrites ${destination}. Pass --yes, or type ${destination} when asked.`);
        process.exitCode = EXIT_USAGE;
        return;
      }
      const result = await restoreCommand(config, targetName, io, {
        confirm,
        ...(options.backup !== undefined ? { backup: options.backup } : {}),
        ...(options.archiveKey !== undefined ? { archiveKey: options.archiveKey } : {}),
        ...(options.to !== undefined ? { to: options.to } : {}),
        ...(options.allowVersionMismatch ? { allowVersionMismatch: true } : {}),
      }, runner);
      process.exitCode = result.exitCode;
    });
}

/** `list`, `prune`, `protect`/`unprotect`, `verify` and `status`: the archive's copies. */
function addArchiveCommands(cli: Command, configPath: () => string): void {
  cli
    .command('list')
    .description('archived copies of a target, newest first, with size, sha256 and age')
    .argument('<target>', 'a configured target name')
    .option('--json', 'print the listing as JSON')
    .action(async (targetName: string, options: { json?: boolean }) => {
      const config = useConfig(configPath());
      const result = await listCommand(config, targetName, io, { json: options.json ?? false });
      process.exitCode = result.exitCode;
    });

  cli
    .command('prune')
    .description("apply the target's retention to its archived copies (manifest removed first); exit 1 naming each copy whose removal failed")
    .argument('<target>', 'a configured target name')
    .option('--dry-run', 'only say what would be kept and removed, and why')
    .option('--json', 'print the report as JSON')
    .action(async (targetName: string, options: { dryRun?: boolean; json?: boolean }) => {
      process.exitCode = (await pruneCommand(useConfig(configPath()), targetName, io, { dryRun: options.dryRun ?? false, json: options.json ?? false })).exitCode;
    });

  for (const [name, protect] of [['protect', true], ['unprotect', false]] as const) {
    cli
      .command(name)
      .description(protect ? 'mark an archived copy so retention never removes it (object tag, or legal hold with Object Lock)' : 'remove the protected mark from an archived copy')
      .argument('<target>', 'a configured target name')
      .argument('<objectKey>', 'the copy\'s object key, as `offsite list` shows it')
      .action(async (targetName: string, objectKey: string) => {
        process.exitCode = (await protectCommand(useConfig(configPath()), targetName, objectKey, io, { protect })).exitCode;
      });
  }

  cli
    .command('verify')
    .description('read every archived copy of a target back and compare size and SHA-256 with its manifest; exit 1 naming each copy that is missing or differs')
    .argument('<target>', 'a configured target name')
    .option('--json', 'print the result as JSON')
    .action(async (targetName: string, options: { json?: boolean }) => {
      process.exitCode = (await verifyCommand(useConfig(configPath()), targetName, io, { json: options.json ?? false })).exitCode;
    });

  cli
    .command('status')
    .description('one row per target: newest verified copy, copies, bytes, next run and state; exit 1 unless every scheduled target is ok')
    .option('--json', 'print the status as JSON')
    .action(async (options: { json?: boolean }) => {
      process.exitCode = (await statusCommand(useConfig(configPath()), io, { json: options.json ?? false })).exitCode;
    });
}

/** `audit`, `executions`, `drill` and `sandbox`. */
function addOperationsCommands(cli: Command, configPath: () => string): void {
  withRemoteOptions(cli
    .command('audit')
    .description(auditHelp())
    .argument('<target>', 'a configured target name')
    .option('--json', 'print the report as JSON'))
    .action(async (targetName: string, options: { json?: boolean } & RemoteOptions) => {
      const config = useConfig(configPath());
      process.exitCode = (await auditCommand(config, targetName, io, { json: options.json ?? false }, runnerFor(config, io, options))).exitCode;
    });

  withStackOptions(cli
    .command('executions')
    .description("the deployed stack's recent executions of a target's lifecycles, newest first (status, start, duration, failing state); --follow attaches to one")
    .argument('<target>', 'a configured target name')
    .option('--limit <n>', 'how many executions (default 20)')
    .option('--follow <execution>', 'follow this execution (name or ARN) to its end and exit with its outcome')
    .option('--json', 'print the list as JSON'))
    .action(async (targetName: string, options: { limit?: string; follow?: string; json?: boolean } & RemoteOptions) => {
      const { limit, ...rest } = options;
      process.exitCode = (
        await executionsCommand(useConfig(configPath()), targetName, io, { ...rest, json: options.json ?? false, ...(limit !== undefined ? { limit: Number(limit) } : {}) })
      ).exitCode;
    });

  withRemoteOptions(cli
    .command('drill')
    .description("restore the target's newest verified copy onto its configured drill destination and check it; exit 0 only when the restore completed and every check passed")
    .argument('<target>', 'a configured target name with a drill')
    .option('--json', 'print the drill report as JSON'))
    .action(async (targetName: string, options: { json?: boolean } & RemoteOptions) => {
      const config = useConfig(configPath());
      process.exitCode = (await drillCommand(config, targetName, io, { json: options.json ?? false }, runnerFor(config, io, options))).exitCode;
    });

  cli
    .command('sandbox')
    .description('start the bundled vendor simulators and a local S3 store, back up and restore every kind, print a summary')
    .addOption(new Option('--keep', 'keep the sandbox directory (archive contents, config) afterwards'))
    .addOption(new Option('--serve', 'after the round, keep the simulators and the local store running and print what to try, until Ctrl-C'))
    .action(async (options: { keep?: boolean; serve?: boolean }) => {
      const result = await sandboxCommand(io, { keep: options.keep ?? false, serve: options.serve ?? false });
      process.exitCode = result.exitCode;
    });
}

// `offsite audit <target> [--json]`: runs the target's audit lifecycle (the same ASL and
// handlers as in AWS, in-process), reads the report it wrote into the archive, and prints
// it in the kind's words (its `cli` hooks' `audit`). Exit 0 when the audit found nothing to
// act on (every VM in scope covered), 1 when it did or the audit failed, 2 for a target
// whose kind has no audit.
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { LIFECYCLES } from '../../functions/catalog';
import { findTarget } from '../../functions/config/load';
import { kindOf } from '../../functions/kinds/registry';
import type { OffsiteConfig } from '../../functions/config/schema';
import { archiveClient } from '../../functions/runtime/archive-client';
import { InvalidInput } from '../../functions/shared/errors';
import type { CliIo, CommandResult } from './commands';
import { plainCause } from './format';
import { kindCommandsOf } from './kind-commands';
import { LOCAL_RUNNER, type LifecycleRunner } from './lifecycle-runner';
import { stateReporter } from './progress';

/** The audit lifecycle's output (its final Pass state): where it stored the report, as JSON and as Markdown. */
interface AuditOutput {
  readonly reportKey: string;
  readonly markdownKey: string;
}

async function readAuditReport(config: OffsiteConfig, key: string): Promise<unknown> {
  const answer = await archiveClient(config.archive).send(new GetObjectCommand({ Bucket: config.archive.bucket, Key: key }));
  return JSON.parse((await answer.Body?.transformToString('utf8')) ?? 'null') as unknown;
}

/** `Report`: the kind's report type, for a caller that knows the target's kind (the sandbox's round, tests). */
export async function auditCommand<Report = unknown>(
  config: OffsiteConfig,
  targetName: string,
  io: CliIo,
  options: { json?: boolean } = {},
  runner: LifecycleRunner = LOCAL_RUNNER,
): Promise<CommandResult & { report?: Report }> {
  const target = findTarget(config, targetName);
  const lifecycle = LIFECYCLES.find((candidate) => candidate.kind === target.kind && candidate.purpose === 'audit');
  if (!lifecycle) {
    const audited = [...new Set(LIFECYCLES.filter((candidate) => candidate.purpose === 'audit').map((candidate) => candidate.kind))];
    throw new InvalidInput(`audit is not available for ${target.kind} targets (${target.name}); it audits ${audited.join(', ')} targets.`);
  }
  const present = kindCommandsOf(target).audit;
  if (!present) throw new Error(`${target.kind} targets have an audit lifecycle but their definition's cli gives no audit presentation`);
  io.err(`Auditing ${target.name} (${target.kind}): ${kindOf(target).auditWording?.announce ?? 'its audit report'}`);
  const outcome = await runner.run({ lifecycle, input: { target: target.name }, targetName: target.name, onEvent: stateReporter(io.err) });
  if (!outcome.succeeded) {
    io.err(`Audit of ${target.name} failed: ${outcome.error ?? 'unknown error'}`);
    const cause = plainCause(outcome.cause);
    if (cause) io.err(`  ${cause}`);
    return { exitCode: 1 };
  }
  const { reportKey, markdownKey } = outcome.output as AuditOutput;
  const report = await readAuditReport(config, reportKey);
  const { exitCode, json, lines } = present(report);
  if (options.json) {
    io.out(JSON.stringify(json));
    return { exitCode, report: report as Report };
  }
  for (const line of lines) io.out(line);
  io.out('');
  io.out(`report: s3://${config.archive.bucket}/${reportKey} (and ${markdownKey.split('/').pop() ?? markdownKey})`);
  return { exitCode, report: report as Report };
}

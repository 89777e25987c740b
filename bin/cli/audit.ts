// `offsite audit <target> [--json]`: runs the target's audit lifecycle (the same ASL and
// handlers as in AWS, in-process), reads the report it wrote into the archive, and prints
// it. Exit 0 when every VM in scope is covered, 1 when any is not or the audit failed,
// 2 for a target whose kind has no audit.
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { LIFECYCLES } from '../../functions/catalog';
import { findTarget } from '../../functions/config/load';
import type { OffsiteConfig } from '../../functions/config/schema';
import type { AuditReport } from '../../functions/kinds/netbox-proxbox/coverage';
import { textTable } from '../../functions/kinds/netbox-proxbox/report';
import { archiveClient } from '../../functions/runtime/archive-client';
import { InvalidInput } from '../../functions/shared/errors';
import type { CliIo, CommandResult } from './commands';
import { plainCause } from './format';
import { LOCAL_RUNNER, type LifecycleRunner } from './lifecycle-runner';
import { stateReporter } from './progress';

/** The audit lifecycle's output (its final Pass state). */
interface AuditOutput {
  readonly reportKey: string;
  readonly markdownKey: string;
}

/** The contract's document (DESIGN.md, `offsite audit --json`). */
function contractDocument(report: AuditReport): Record<string, unknown> {
  return {
    target: report.target,
    generatedAt: report.generatedAt,
    virtualMachines: report.virtualMachines,
    covered: report.covered,
    uncovered: report.uncovered.map(({ name, vmid, reasons }) => ({ name, vmid, reasons })),
    findings: report.findings.map(({ severity, code, subject, message }) => ({ severity, code, subject, message })),
  };
}

export async function readAuditReport(config: OffsiteConfig, key: string): Promise<AuditReport> {
  const answer = await archiveClient(config.archive).send(new GetObjectCommand({ Bucket: config.archive.bucket, Key: key }));
  return JSON.parse((await answer.Body?.transformToString('utf8')) ?? 'null') as AuditReport;
}

export async function auditCommand(
  config: OffsiteConfig,
  targetName: string,
  io: CliIo,
  options: { json?: boolean } = {},
  runner: LifecycleRunner = LOCAL_RUNNER,
): Promise<CommandResult & { report?: AuditReport }> {
  const target = findTarget(config, targetName);
  const lifecycle = LIFECYCLES.find((candidate) => candidate.kind === target.kind && candidate.purpose === 'audit');
  if (!lifecycle) {
    const audited = [...new Set(LIFECYCLES.filter((candidate) => candidate.purpose === 'audit').map((candidate) => candidate.kind))];
    throw new InvalidInput(`audit is not available for ${target.kind} targets (${target.name}); it audits ${audited.join(', ')} targets.`);
  }
  io.err(`Auditing ${target.name} (${target.kind}): which VMs have working backup cover`);
  const outcome = await runner.run({ lifecycle, input: { target: target.name }, targetName: target.name, onEvent: stateReporter(io.err) });
  if (!outcome.succeeded) {
    io.err(`Audit of ${target.name} failed: ${outcome.error ?? 'unknown error'}`);
    const cause = plainCause(outcome.cause);
    if (cause) io.err(`  ${cause}`);
    return { exitCode: 1 };
  }
  const { reportKey, markdownKey } = outcome.output as AuditOutput;
  const report = await readAuditReport(config, reportKey);
  const exitCode = report.uncovered.length > 0 ? 1 : 0;
  if (options.json) {
    io.out(JSON.stringify(contractDocument(report)));
    return { exitCode, report };
  }
  for (const line of textTable(report)) io.out(line);
  io.out('');
  io.out(
    `${report.virtualMachines} VMs in scope, ${report.covered} covered, ${report.uncovered.length} uncovered ` +
      `(left out: ${report.outOfScope.withoutVmid} without a Proxmox VMID, ${report.outOfScope.ignoredByTag} by ignore tag); ${report.routines} backup routines`,
  );
  if (report.uncovered.length > 0) {
    io.out('');
    io.out('UNCOVERED');
    for (const vm of report.uncovered) io.out(`  ${vm.name} (VMID ${vm.vmid}): ${vm.reasons.join('; ')}`);
  }
  const others = report.findings.filter((finding) => finding.code !== 'vm-uncovered');
  if (others.length > 0) {
    io.out('');
    io.out('FINDINGS');
    for (const finding of others) io.out(`  ${finding.severity.padEnd(8)} ${finding.code.padEnd(25)} ${finding.subject}: ${finding.message}`);
  }
  io.out('');
  io.out(`report: s3://${config.archive.bucket}/${reportKey} (and ${markdownKey.split('/').pop() ?? markdownKey})`);
  return { exitCode, report };
}

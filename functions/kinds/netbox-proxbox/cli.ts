// The command line's hooks for netbox-proxbox targets (the definition's `cli`): the coverage
// report as `offsite audit` prints it. Laptop only.
import type { KindCommands } from '../kind';
import type { NetboxProxboxTarget } from './config';
import type { AuditReport } from './coverage';
import { textTable } from './report';

/** The contract's document (docs/design.md, `audit --json`). */
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

/** The table, the counts, the uncovered VMs and the other findings. */
function reportLines(report: AuditReport): string[] {
  const lines = [...textTable(report), ''];
  lines.push(
    `${report.virtualMachines} VMs in scope, ${report.covered} covered, ${report.uncovered.length} uncovered ` +
      `(left out: ${report.outOfScope.withoutVmid} without a Proxmox VMID, ${report.outOfScope.ignoredByTag} by ignore tag); ${report.routines} backup routines`,
  );
  if (report.uncovered.length > 0) {
    lines.push('', 'UNCOVERED');
    for (const vm of report.uncovered) lines.push(`  ${vm.name} (VMID ${vm.vmid}): ${vm.reasons.join('; ')}`);
  }
  const others = report.findings.filter((finding) => finding.code !== 'vm-uncovered');
  if (others.length > 0) {
    lines.push('', 'FINDINGS');
    for (const finding of others) lines.push(`  ${finding.severity.padEnd(8)} ${finding.code.padEnd(25)} ${finding.subject}: ${finding.message}`);
  }
  return lines;
}

export const kindCommands: KindCommands<NetboxProxboxTarget> = {
  // Exit 1 while any VM in scope is uncovered.
  audit: (stored) => {
    const report = stored as AuditReport;
    return { exitCode: report.uncovered.length > 0 ? 1 : 0, json: contractDocument(report), lines: reportLines(report) };
  },
};

// How an audit report reads for people: a Markdown document kept next to the JSON in the
// archive, and the table `offsite audit` prints.
import type { AuditReport, VmRow } from './coverage';

function age(from: string | null, now: Date): string {
  if (from === null) return 'none';
  const hours = (now.getTime() - new Date(from).getTime()) / 3_600_000;
  if (hours < 1) return `${Math.max(0, Math.round(hours * 60))}m`;
  if (hours < 72) return `${Math.round(hours)}h`;
  return `${Math.round(hours / 24)}d`;
}

function place(row: VmRow): string {
  return `${row.cluster ?? '?'}/${row.node ?? '?'}`;
}

/** The table's cells for one VM. */
export function rowCells(row: VmRow, now: Date, backupsChecked: boolean): string[] {
  return [
    row.name,
    String(row.vmid),
    place(row),
    row.routines.length > 0 ? row.routines.join(',') : 'NONE',
    backupsChecked || row.newestBackupAt !== null ? age(row.newestBackupAt, now) : 'unknown',
    row.replication,
    row.findings.length > 0 ? row.findings.join(',') : 'ok',
  ];
}

export const TABLE_HEADINGS = ['VM', 'VMID', 'CLUSTER/NODE', 'ROUTINES', 'NEWEST BACKUP', 'REPLICATION', 'FINDINGS'];

/** Columns padded to their widest cell. */
export function textTable(report: AuditReport): string[] {
  const now = new Date(report.generatedAt);
  const rows = [TABLE_HEADINGS, ...report.rows.map((row) => rowCells(row, now, report.backupsChecked))];
  const widths = TABLE_HEADINGS.map((_, column) => Math.max(...rows.map((cells) => (cells[column] ?? '').length)));
  return rows.map((cells) => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('  '));
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function renderMarkdown(report: AuditReport, baseUrl: string): string {
  const now = new Date(report.generatedAt);
  const lines = [
    `# Backup coverage of ${report.target}`,
    '',
    `NetBox ${baseUrl}, audited ${report.generatedAt}.`,
    '',
    `- VMs in scope: ${report.virtualMachines} (left out: ${report.outOfScope.withoutVmid} without a Proxmox VMID, ${report.outOfScope.ignoredByTag} by ignore tag)`,
    `- covered: ${report.covered}`,
    `- uncovered: ${report.uncovered.length}`,
    `- backup routines: ${report.routines}`,
    '',
  ];
  if (report.uncovered.length > 0) {
    lines.push('## Uncovered VMs', '', '| VM | VMID | Why |', '|---|---|---|');
    for (const vm of report.uncovered) lines.push(`| ${escapeCell(vm.name)} | ${vm.vmid} | ${escapeCell(vm.reasons.join('; '))} |`);
    lines.push('');
  }
  if (report.findings.length > 0) {
    lines.push('## Findings', '', '| Severity | Code | Subject | Message |', '|---|---|---|---|');
    for (const finding of report.findings) lines.push(`| ${finding.severity} | ${finding.code} | ${escapeCell(finding.subject)} | ${escapeCell(finding.message)} |`);
    lines.push('');
  }
  lines.push('## Virtual machines', '', `| ${TABLE_HEADINGS.join(' | ')} |`, `|${TABLE_HEADINGS.map(() => '---').join('|')}|`);
  for (const row of report.rows) lines.push(`| ${rowCells(row, now, report.backupsChecked).map(escapeCell).join(' | ')} |`);
  lines.push('');
  return lines.join('\n');
}

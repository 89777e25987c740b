// The audit's metric names, apart from the code that publishes them, so the stack (the
// coverage-gap alarm) can name them without bundling Powertools. The dashboard graphs
// exactly these names: namespace "offsite", dimension Target (and Severity for findings).
export const AUDIT_METRICS_NAMESPACE = 'offsite';
export const AUDIT_METRICS = {
  inScope: 'AuditVirtualMachinesInScope',
  uncovered: 'AuditUncoveredVirtualMachines',
  findings: 'AuditFindings',
} as const;

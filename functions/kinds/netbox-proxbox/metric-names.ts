// The audit's metric names, apart from the code that publishes them, so the stack (the
// coverage-gap alarm) can name them without bundling Powertools. The dashboard graphs
// exactly these names: namespace "offsite", dimension Target (and Severity for findings).
export const AUDIT_METRICS_NAMESPACE = 'offsite';
export const AUDIT_METRICS = {
  inScope: 'AuditVirtualMachinesInScope',
  uncovered: 'AuditUncoveredVirtualMachines',
  findings: 'AuditFindings',
} as const;
/**
 * The dimension of the uncovered count published per audit group too (the targets one
 * schedule expression audits together: functions/fleet/groups.ts), which the group's one
 * coverage-gap alarm watches, so alarms do not grow with the audited targets.
 */
export const AUDIT_GROUP_DIMENSION = 'AuditGroup';

import { API_CALL } from '../function-defaults';
import type { CredentialReference, KindDefinition } from '../kind';
import { netboxProxboxTargetSchema, type NetboxProxboxTarget } from './config';
import { AUDIT_GROUP_DIMENSION, AUDIT_METRICS, AUDIT_METRICS_NAMESPACE } from './metric-names';

// A self-hosted NetBox usually sits on the team's own network, like an appliance.
const call = { ...API_CALL, network: 'private-network', creates: false } as const;
// Walking 5,000 VMs in pages of 1000 takes a few calls; the list is kept as small records.
const read = { ...call, archive: 'write', timeoutSeconds: 300, memoryMb: 512 } as const;
const handler = (name: string): string => `functions/kinds/netbox-proxbox/handlers/${name}.ts`;

function credentialReferences(target: NetboxProxboxTarget): CredentialReference[] {
  const ca = target.tls?.ca;
  return [
    { field: 'credentials', ref: target.credentials, jsonKey: 'token', spacesAllowed: false },
    ...(ca && 'secret' in ca ? [{ field: 'tls.ca', ref: { secret: ca.secret }, jsonKey: undefined, spacesAllowed: true }] : []),
  ];
}

/** Self-hosted NetBox with the Proxbox plugin: a scheduled audit of which Proxmox VMs have working backup cover. No backups, no restores. */
export const netboxProxboxKind = {
  kind: 'netbox-proxbox',
  title: 'NetBox (Proxbox)',
  configSchema: netboxProxboxTargetSchema,
  credentialReferences,
  warnings: (target) =>
    target.tls?.dangerouslyDisableCertificateVerification
      ? [`TLS certificate verification is OFF for ${target.name} (tls.dangerouslyDisableCertificateVerification): anyone on the path can read its NetBox token.`]
      : [],
  functions: [
    { id: 'NetboxProxboxReadVirtualMachines', entry: handler('read-virtual-machines'), description: 'NetBox: list virtual machines into the audit work area', ...read },
    { id: 'NetboxProxboxReadVmLinks', entry: handler('read-vm-links'), description: 'NetBox Proxbox: list VM sync state (VMID links)', ...read },
    { id: 'NetboxProxboxReadBackupRoutines', entry: handler('read-backup-routines'), description: 'NetBox Proxbox: list backup routines', ...read },
    { id: 'NetboxProxboxReadReplications', entry: handler('read-replications'), description: 'NetBox Proxbox: list replications', ...read },
    { id: 'NetboxProxboxReadBackups', entry: handler('read-backups'), description: 'NetBox Proxbox: list synced backup files', ...read },
    { id: 'NetboxProxboxComputeCoverage', entry: handler('compute-coverage'), description: 'Audit: compute backup coverage from the stored lists', ...call, archive: 'read-write', timeoutSeconds: 300, memoryMb: 1024 },
    { id: 'NetboxProxboxWriteReport', entry: handler('write-report'), description: 'Audit: write the coverage report (JSON and Markdown) into the archive', ...call, archive: 'read-write', memoryMb: 512 },
    { id: 'NetboxProxboxPublishMetrics', entry: handler('publish-metrics'), description: 'Audit: publish coverage metrics (embedded metric format)', ...call, network: 'internet', archive: 'none', timeoutSeconds: 30 },
  ],
  lifecycles: [{ id: 'NetboxProxboxAudit', purpose: 'audit', definitionFile: 'state-machines/netbox-proxbox-audit.asl.json', timeoutHours: 2 }],
  transferStates: {},
  alarmHints: {
    audit: {
      auditFailed:
        '(NotAuthorized = the NetBox token in the target\'s secret is wrong, expired or lacks a view permission, the message names it and quotes the X-Request-ID to find in NetBox\'s logs; ' +
        'TransientApiError = NetBox did not answer (down? "network" subnets/security groups? tls.ca?); VendorApiError = an unexpected answer, or no Proxbox plugin (the message says); ' +
        'InconsistentPagination = next links left NetBox or stalled (proxy?), or a list never matched its count: no report; CredentialsUnavailable = secret unreadable).',
      coverageGap:
        'Open the newest report under <prefix><target>/audit/ in the archive bucket (the .md next to the .json), or run `offsite audit <target>`: ' +
        'it names each uncovered VM and why (no routine selects its VMID, the only routine is disabled or stale, node or pool mismatch). Fix the backup job in Proxmox and let Proxbox sync',
      metrics: { namespace: AUDIT_METRICS_NAMESPACE, uncovered: AUDIT_METRICS.uncovered, findings: AUDIT_METRICS.findings, groupDimension: AUDIT_GROUP_DIMENSION },
    },
  },
  cli: 'functions/kinds/netbox-proxbox/cli.ts',
  auditWording: {
    announce: 'which VMs have working backup cover',
    help: 'the backup coverage report (which VMs have no working backup routine); exit 1 while any VM in scope is uncovered or NetBox cannot be read',
  },
} as const satisfies KindDefinition<NetboxProxboxTarget>;

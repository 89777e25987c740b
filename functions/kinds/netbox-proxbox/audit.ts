// The audit lifecycle's steps. Each read step walks one NetBox list and stores what it kept
// as one S3 object (lists grow with the estate; Step Functions state holds 256 KB), and
// hands on only the object's key and count. Dependencies (client, store, clock) are arguments.
import type { NetboxRestClient } from '../../netbox-rest/client';
import { VendorApiError } from '../../shared/errors';
import type { CoveragePolicy } from './config';
import { computeCoverage, findingsBySeverity, type AuditReport, type BackupsRead, type Severity } from './coverage';
import {
  backupRecord,
  proxmoxClusterRecord,
  replicationRecord,
  routineRecord,
  vmLinkRecord,
  vmRecord,
  type BackupRecord,
  type ProxmoxClusterRecord,
  type ReplicationRecord,
  type RoutineRecord,
  type VmLinkRecord,
  type VmRecord,
} from './records';
import { renderMarkdown } from './report';

/** Where the audit keeps its objects: JSON documents under the archive prefix. */
export interface AuditStore {
  putJson(key: string, document: unknown): Promise<void>;
  putText(key: string, text: string, contentType: string): Promise<void>;
  getJson(key: string): Promise<unknown>;
  delete(keys: readonly string[]): Promise<void>;
}

/** A stored list, as it travels through state. */
export interface StoredPart {
  readonly key: string;
  readonly count: number;
  /** false when the endpoint does not exist on this NetBox (the sync-state and backups endpoints are not on every Proxbox). */
  readonly available: boolean;
  readonly reason?: string;
}

export const NETBOX_PATHS = {
  virtualMachines: 'virtualization/virtual-machines/',
  status: 'status/',
  vmLinks: 'plugins/proxbox/sync-state/virtual-machines/',
  proxmoxClusters: 'plugins/proxbox/proxmox-clusters/',
  routines: 'plugins/proxbox/backup-routines/',
  replications: 'plugins/proxbox/replications/',
  backups: 'plugins/proxbox/backups/',
} as const;

export type AuditPart = 'virtual-machines' | 'vm-links' | 'backup-routines' | 'replications' | 'backups' | 'report';

/** The folder of a target's audit reports: `<prefix><target>/audit/` (listArchivedCopies leaves it out). */
export function auditFolder(prefix: string, target: string): string {
  return `${prefix}${target}/audit/`;
}

/** One execution's intermediate objects, removed once its report is written. */
export function workKey(prefix: string, target: string, executionName: string, part: AuditPart): string {
  return `${auditFolder(prefix, target)}work/${executionName.replace(/[^A-Za-z0-9._-]/g, '_')}/${part}.json`;
}

/** `<prefix><target>/audit/<time>.json` (time UTC, colons as dashes like archived copies), and its Markdown rendering beside it. */
export function reportKeys(prefix: string, target: string, generatedAt: string): { json: string; markdown: string } {
  const stamp = new Date(generatedAt).toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  const base = `${auditFolder(prefix, target)}${stamp}`;
  return { json: `${base}.json`, markdown: `${base}.md` };
}

function isMissingEndpoint(error: unknown): boolean {
  return error instanceof VendorApiError && error.status === 404;
}

async function storeList<T>(store: AuditStore, key: string, read: () => Promise<T[]>): Promise<StoredPart> {
  const items = await read();
  await store.putJson(key, items);
  return { key, count: items.length, available: true };
}

export function readVirtualMachines(client: NetboxRestClient, store: AuditStore, key: string): Promise<StoredPart> {
  return storeList(store, key, () => client.list(NETBOX_PATHS.virtualMachines, { operation: 'list virtual machines' }, vmRecord));
}

/** What ties NetBox's VMs to Proxmox, stored as the `vm-links` part: one document, as it is read in one step. */
export interface ProxmoxLinks {
  /** Sync-state rows (VM -> VMID, node, endpoint). */
  readonly links: readonly VmLinkRecord[];
  /** ProxmoxCluster rows (NetBox cluster -> Proxmox endpoint). */
  readonly clusters: readonly ProxmoxClusterRecord[];
  /** The installed netbox-proxbox version, from /api/status/ (null where NetBox does not say). */
  readonly proxboxVersion: string | null;
}

/**
 * The installed netbox-proxbox version from /api/status/ (which lists every plugin), or
 * null on a NetBox without that endpoint. A NetBox that lists its plugins without Proxbox
 * fails the audit here, saying so: every list after this one would answer 404.
 */
export async function readProxboxVersion(client: NetboxRestClient): Promise<string | null> {
  let status: unknown;
  try {
    status = await client.get(NETBOX_PATHS.status, { operation: 'read /api/status/' });
  } catch (error) {
    if (isMissingEndpoint(error)) return null;
    throw error;
  }
  const fields = (status && typeof status === 'object' ? status : {}) as Record<string, unknown>;
  const plugins = fields.plugins;
  if (!plugins || typeof plugins !== 'object' || Array.isArray(plugins)) return null;
  const entry = Object.entries(plugins as Record<string, unknown>).find(([name]) => name === 'netbox_proxbox');
  if (entry) return typeof entry[1] === 'string' ? entry[1] : 'of unknown version';
  const installed = Object.keys(plugins);
  throw new VendorApiError(
    `The Proxbox plugin (netbox_proxbox) is not installed on this NetBox${typeof fields['netbox-version'] === 'string' ? ` ${fields['netbox-version']}` : ''}: ` +
      `its /api/status/ lists ${installed.length > 0 ? `the plugins ${installed.join(', ')}` : 'no plugins'}. The audit reads Proxbox's backup routines, so it needs netbox-proxbox installed and synced from Proxmox.`,
  );
}

/**
 * The Proxbox version, the sync-state rows and the ProxmoxCluster rows. A Proxbox that
 * predates an endpoint answers 404: without sync-state rows the custom fields are the only
 * links; without ProxmoxCluster rows a VM's endpoint is known only from its sync-state row.
 */
export async function readVmLinks(client: NetboxRestClient, store: AuditStore, key: string): Promise<StoredPart> {
  const proxboxVersion = await readProxboxVersion(client);
  let clusters: ProxmoxClusterRecord[] = [];
  try {
    clusters = (await client.list(NETBOX_PATHS.proxmoxClusters, { operation: 'list Proxbox Proxmox clusters' }, proxmoxClusterRecord)).filter((row): row is ProxmoxClusterRecord => row !== null);
  } catch (error) {
    if (!isMissingEndpoint(error)) throw error;
  }
  let links: VmLinkRecord[] = [];
  let missing: string | undefined;
  try {
    links = (await client.list(NETBOX_PATHS.vmLinks, { operation: 'list Proxbox VM sync state' }, vmLinkRecord)).filter((link): link is VmLinkRecord => link !== null);
  } catch (error) {
    if (!isMissingEndpoint(error)) throw error;
    missing = 'this Proxbox has no sync-state endpoint; VMIDs come from the custom fields proxmox_vm_id / proxmox_id only';
  }
  const document: ProxmoxLinks = { links, clusters, proxboxVersion };
  await store.putJson(key, document);
  return missing === undefined ? { key, count: links.length, available: true } : { key, count: 0, available: false, reason: missing };
}

/** Every backup routine; a Proxbox without the endpoint fails naming the installed version (the routines are what coverage is judged by). */
export async function readRoutines(client: NetboxRestClient, store: AuditStore, key: string): Promise<StoredPart> {
  try {
    return await storeList(store, key, () => client.list(NETBOX_PATHS.routines, { operation: 'list Proxbox backup routines' }, routineRecord));
  } catch (error) {
    if (!isMissingEndpoint(error)) throw error;
    const version = await readProxboxVersion(client);
    throw new VendorApiError(
      `${(error as Error).message}: the installed Proxbox${version === null ? '' : ` ${version}`} has no ${NETBOX_PATHS.routines} endpoint; ` +
        'the audit reads backup routines as netbox-proxbox 0.0.24 serves them (Proxbox versions before backup routines cannot be audited).',
      404,
    );
  }
}

export function readReplications(client: NetboxRestClient, store: AuditStore, key: string): Promise<StoredPart> {
  return storeList(store, key, () => client.list(NETBOX_PATHS.replications, { operation: 'list Proxbox replications' }, replicationRecord));
}

/** The backup files Proxbox syncs; the endpoint is not in every Proxbox, and its absence is a finding, not a failure. */
export async function readBackups(client: NetboxRestClient, store: AuditStore, key: string): Promise<StoredPart> {
  try {
    return await storeList(store, key, () => client.list(NETBOX_PATHS.backups, { operation: 'list Proxbox backups' }, backupRecord));
  } catch (error) {
    if (!isMissingEndpoint(error)) throw error;
    await store.putJson(key, []);
    return { key, count: 0, available: false, reason: `NetBox has no ${NETBOX_PATHS.backups} endpoint (HTTP 404: this Proxbox does not sync backup files)` };
  }
}

export interface AuditParts {
  readonly vms: StoredPart;
  readonly links: StoredPart;
  readonly routines: StoredPart;
  readonly replications: StoredPart;
  readonly backups: StoredPart;
}

/** What travels through state after the report is computed: counts only. */
export interface AuditSummary {
  readonly target: string;
  readonly generatedAt: string;
  readonly virtualMachines: number;
  readonly covered: number;
  readonly uncovered: number;
  readonly findings: Record<Severity, number>;
}

export function summarize(report: AuditReport): AuditSummary {
  return {
    target: report.target,
    generatedAt: report.generatedAt,
    virtualMachines: report.virtualMachines,
    covered: report.covered,
    uncovered: report.uncovered.length,
    findings: findingsBySeverity(report.findings),
  };
}

async function list<T>(store: AuditStore, part: StoredPart): Promise<T[]> {
  const document = await store.getJson(part.key);
  if (!Array.isArray(document)) throw new VendorApiError(`The audit's stored list ${part.key} is not a list.`);
  return document as T[];
}

/** Reads the stored lists, computes the coverage, and stores the report for WriteReport. */
export async function computeAudit(
  store: AuditStore,
  input: { target: string; policy: CoveragePolicy; parts: AuditParts; reportWorkKey: string; now: Date },
): Promise<{ key: string; summary: AuditSummary }> {
  const { parts } = input;
  const backups: BackupsRead = parts.backups.available
    ? { available: true, backups: await list<BackupRecord>(store, parts.backups) }
    : { available: false, reason: parts.backups.reason ?? 'the backups endpoint could not be read' };
  const proxmox = (await store.getJson(parts.links.key)) as ProxmoxLinks | null;
  if (!proxmox || !Array.isArray(proxmox.links) || !Array.isArray(proxmox.clusters)) throw new VendorApiError(`The audit's stored links ${parts.links.key} are not a links document.`);
  const report = computeCoverage({
    target: input.target,
    generatedAt: input.now,
    policy: input.policy,
    vms: await list<VmRecord>(store, parts.vms),
    links: proxmox.links,
    clusters: proxmox.clusters,
    proxboxVersion: proxmox.proxboxVersion,
    routines: await list<RoutineRecord>(store, parts.routines),
    replications: await list<ReplicationRecord>(store, parts.replications),
    backups,
  });
  await store.putJson(input.reportWorkKey, report);
  return { key: input.reportWorkKey, summary: summarize(report) };
}

/** Writes the report where it is kept (JSON and Markdown) and removes the execution's intermediate objects. */
export async function writeReport(
  store: AuditStore,
  input: { prefix: string; target: string; computedKey: string; workKeys: readonly string[]; baseUrl: string },
): Promise<{ reportKey: string; markdownKey: string; summary: AuditSummary }> {
  const report = (await store.getJson(input.computedKey)) as AuditReport;
  const keys = reportKeys(input.prefix, input.target, report.generatedAt);
  await store.putJson(keys.json, report);
  await store.putText(keys.markdown, renderMarkdown(report, input.baseUrl), 'text/markdown; charset=utf-8');
  await store.delete([...input.workKeys, input.computedKey]);
  return { reportKey: keys.json, markdownKey: keys.markdown, summary: summarize(report) };
}

import { z } from 'zod';
import { apiBaseUrl, credentialsRef, retentionPolicy, scheduleExpression, targetName, tlsSettings } from '../../config/common';

/** What the audit holds a self-hosted NetBox's Proxmox estate to (docs/kinds/netbox-proxbox.md, the target). */
export const coveragePolicy = z
  .object({
    /** Every VM in scope must also have an active (not disabled, not stale) replication job. */
    requireReplication: z.boolean({ error: 'expected true or false' }).default(false),
    /** The newest backup of a covered VM may be at most this old; absent: not checked. */
    maxBackupAgeHours: z.number({ error: 'expected a number of hours' }).positive('expected a number of hours above 0').max(24 * 400).optional(),
    /** Each keep option here is a minimum every routine's retention must reach. */
    minimumRetention: retentionPolicy.optional(),
    /** VMs carrying any of these tags (by name or slug) are out of scope. */
    ignoreTags: z.array(z.string().min(1, 'expected a tag name or slug')).default([]),
  })
  .strict();

export const netboxProxboxTargetSchema = z
  .object({
    name: targetName,
    kind: z.literal('netbox-proxbox'),
    /** The NetBox itself, e.g. https://netbox.dc1.example; `/api/` is added. */
    baseUrl: apiBaseUrl,
    /** A NetBox API token: v1, 40 letters and digits (sent as `Token`), or `nbt_…` (v2, sent as `Bearer`). */
    credentials: credentialsRef,
    tls: tlsSettings.optional(),
    /** When the audit runs (it makes no backups). */
    schedule: scheduleExpression.optional(),
    coverage: coveragePolicy.default({ requireReplication: false, ignoreTags: [] }),
    /** Objects asked for per page (NetBox caps it at its MAX_PAGE_SIZE, 1000 by default, and says so in `next`). */
    pageSize: z.number().int().min(1).max(1000).default(1000),
    requestTimeoutSeconds: z.number().int().min(1).max(90).default(30),
  })
  .strict();

export type NetboxProxboxTarget = z.infer<typeof netboxProxboxTargetSchema>;
export type CoveragePolicy = NetboxProxboxTarget['coverage'];

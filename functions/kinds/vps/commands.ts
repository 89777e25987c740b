// What the command line does for a vps target beyond the archive (cli.ts hands these to
// bin/cli/kind-commands.ts): `list` also asks the provider, `prune` applies retention at the
// provider. Laptop-only: it resolves the token here, as the functions do.
import type { ProviderRecord } from '../../archive/manifest';
import type { PruneReport } from '../../archive/prune-report';
import type { OffsiteConfig } from '../../config/schema';
import { archiveClient } from '../../runtime/archive-client';
import { resolveTargetCredential } from '../../runtime/credentials';
import { formatBytes } from '../../shared/format';
import { VpsClient } from './client';
import type { VpsTarget } from './config';
import { HELD_BY_PROVIDER, MIB, type ArchiveLocation } from './records';
import { pruneAtProvider } from './retention';

export interface ProviderHeldBackup {
  readonly id: string;
  readonly type: string;
  readonly status: string;
  readonly sizeBytes: number | null;
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly description: string | null;
  /** True only when offsite has a catalogue record of it (the description is not trusted). */
  readonly madeByOffsite: boolean;
  readonly manifestKey: string | null;
}

async function clientFor(target: VpsTarget): Promise<VpsClient> {
  return new VpsClient({ baseUrl: target.baseUrl, token: await resolveTargetCredential(target, 'credentials'), timeoutMs: target.requestTimeoutSeconds * 1000 });
}

function archiveOf(config: OffsiteConfig): ArchiveLocation {
  return { s3: archiveClient(config.archive), bucket: config.archive.bucket, prefix: config.archive.prefix };
}

export async function pruneVps(config: OffsiteConfig, target: VpsTarget, options: { readonly dryRun: boolean }): Promise<PruneReport> {
  return pruneAtProvider(await clientFor(target), archiveOf(config), target, config.timezone, options);
}

/** The provider's backups of the server, newest first, each marked made by offsite or not, and the records whose backup is gone. */
export async function listVps(
  target: VpsTarget,
  records: readonly { readonly manifestKey: string; readonly record: ProviderRecord }[],
  now: Date,
  client?: Pick<VpsClient, 'listBackups'>,
): Promise<{ readonly json: { readonly [key: string]: unknown }; readonly lines: readonly string[]; readonly warnings: readonly string[] }> {
  const listed = await (client ?? (await clientFor(target))).listBackups({ serverId: target.serverId });
  const byId = new Map(records.map((entry) => [entry.record.sourceBackupId, entry]));
  const backups: ProviderHeldBackup[] = listed
    .map((backup) => {
      const record = byId.get(String(backup.id));
      return {
        id: String(backup.id),
        type: backup.backup_type,
        status: backup.status,
        sizeBytes: backup.size_mb === null || backup.size_mb === undefined ? null : Math.round(backup.size_mb * MIB),
        createdAt: backup.created_at,
        expiresAt: backup.expires_at ?? null,
        description: backup.description ?? null,
        madeByOffsite: record !== undefined,
        manifestKey: record?.manifestKey ?? null,
      };
    })
    .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
  const held = new Set(backups.map((backup) => backup.id));
  const orphans = records.filter(({ record }) => !held.has(record.sourceBackupId));
  const age = (iso: string): string => {
    const hours = Math.max(0, (now.getTime() - Date.parse(iso)) / 3_600_000);
    return Number.isNaN(hours) ? '?' : hours < 48 ? `${Math.floor(hours)}h` : `${Math.floor(hours / 24)}d`;
  };
  const lines = [
    `Backups of ${target.name} (server ${target.serverId}) ${HELD_BY_PROVIDER}: the provider's API offers no download, so none of these is in the archive.`,
    ...(backups.length === 0
      ? ['  (the provider lists none)']
      : [
          ['CREATED (provider)'.padEnd(26), 'AGE'.padEnd(5), 'TYPE'.padEnd(9), 'STATUS'.padEnd(11), 'SIZE'.padEnd(10), 'EXPIRES'.padEnd(26), 'ID'.padEnd(8), 'MADE BY'].join('  '),
          ...backups.map((backup) =>
            [
              backup.createdAt.padEnd(26),
              age(backup.createdAt).padEnd(5),
              backup.type.padEnd(9),
              backup.status.padEnd(11),
              (backup.sizeBytes === null ? '-' : formatBytes(backup.sizeBytes)).padEnd(10),
              (backup.expiresAt ?? 'never').padEnd(26),
              backup.id.padEnd(8),
              backup.madeByOffsite ? 'offsite (catalogued; retention applies)' : 'not made by offsite (provider or someone else; never pruned)',
            ].join('  '),
          ),
        ]),
  ];
  return {
    json: { provider: { heldBy: HELD_BY_PROVIDER, serverId: target.serverId, backups, recordsWithoutBackup: orphans.map(({ manifestKey }) => manifestKey) } },
    lines,
    warnings: orphans.map(({ manifestKey, record }) => `warning: catalogue record ${manifestKey}: the provider no longer holds backup ${record.sourceBackupId} (the next prune removes the record)`),
  };
}

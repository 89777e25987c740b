import { DeleteObjectsCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { archiveWriter } from '../../../archive/archive-writer';
import { primaryPlace } from '../../../archive/places';
import { z } from 'zod';
import { findTargetOfKind } from '../../../config/load';
import type { OffsiteConfig } from '../../../config/schema';
import { NetboxRestClient } from '../../../netbox-rest/client';
import { netboxFetch } from '../../../netbox-rest/transport';
import { archiveClient } from '../../../runtime/archive-client';
import { loadRuntimeConfig } from '../../../runtime/config-source';
import { resolveTargetCredential } from '../../../runtime/credentials';
import { logger } from '../../../runtime/logger';
import { resolveTlsTrust } from '../../../runtime/tls-trust';
import { workKey, type AuditPart, type AuditStore } from '../audit';
import type { NetboxProxboxTarget } from '../config';

export { systemClock as clock } from '../../../shared/clock';

export const targetName = z.string().min(1, 'expected the name of a configured target');
export const executionName = z.string().min(1, 'expected the execution name ($$.Execution.Name)');

export const storedPart = z.object({ key: z.string().min(1), count: z.number().int().min(0), available: z.boolean(), reason: z.string().optional() });

/** Where the token comes from, in words: messages name it, never quote it. */
export function tokenLabel(target: NetboxProxboxTarget): string {
  const ref = target.credentials;
  return `the NetBox token of target "${target.name}" (${'env' in ref ? `credentials.env ${ref.env}` : `credentials.secret ${ref.secret}`})`;
}

/** A NetBox client holding the target's token; the token stays in the function that made it. */
export async function netboxClientFor(target: NetboxProxboxTarget): Promise<NetboxRestClient> {
  const [token, tls] = await Promise.all([resolveTargetCredential(target, 'credentials'), resolveTlsTrust(target, 'NetBox', 'its token')]);
  return new NetboxRestClient({
    baseUrl: target.baseUrl,
    token,
    tokenLabel: tokenLabel(target),
    timeoutMs: target.requestTimeoutSeconds * 1000,
    pageSize: target.pageSize,
    fetch: netboxFetch(tls),
    log: (message, fields) => logger.warn(message, { target: target.name, ...fields }),
  });
}

/** The audit's objects in the archive bucket, under the archive prefix. */
export function s3AuditStore(config: OffsiteConfig): AuditStore {
  const s3 = archiveClient(config.archive);
  const Bucket = config.archive.bucket;
  const writer = archiveWriter(s3, Bucket, primaryPlace(config));
  return {
    async putJson(key, document) {
      await writer.putJson(key, document, { compact: true });
    },
    async putText(key, text, contentType) {
      await writer.putDocument(key, text, contentType);
    },
    async getJson(key) {
      const answer = await s3.send(new GetObjectCommand({ Bucket, Key: key }));
      return JSON.parse((await answer.Body?.transformToString('utf8')) ?? 'null') as unknown;
    },
    async delete(keys) {
      if (keys.length === 0) return;
      await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }));
    },
  };
}

export interface AuditContext {
  readonly config: OffsiteConfig;
  readonly target: NetboxProxboxTarget;
  readonly store: AuditStore;
  readonly keyOf: (part: AuditPart) => string;
}

/** The configured netbox-proxbox target of that name, its store and its work keys for this execution. */
export async function auditContext(name: string, execution: string): Promise<AuditContext> {
  const config = await loadRuntimeConfig();
  const target = findTargetOfKind(config, name, 'netbox-proxbox');
  return { config, target, store: s3AuditStore(config), keyOf: (part) => workKey(config.archive.prefix, target.name, execution, part) };
}

/** One read step: the target's client, one list walked and stored, its key and count returned. */
export async function readStep(
  event: { target: string; executionName: string },
  part: AuditPart,
  read: (client: NetboxRestClient, store: AuditStore, key: string) => Promise<z.infer<typeof storedPart>>,
): Promise<z.infer<typeof storedPart>> {
  const { target, store, keyOf } = await auditContext(event.target, event.executionName);
  const client = await netboxClientFor(target);
  const stored = await read(client, store, keyOf(part));
  logger.info('NetBox list stored', { target: target.name, part, count: stored.count, available: stored.available });
  return stored;
}

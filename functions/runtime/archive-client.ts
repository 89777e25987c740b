import { S3Client } from '@aws-sdk/client-s3';
import type { ArchiveConfig } from '../config/schema';

const clients = new Map<string, S3Client>();

/**
 * One S3 client per archive endpoint, kept for the life of the process. For
 * S3-compatible stores (endpoint set) checksums are only sent when required: since SDK
 * v3.729 the client adds flexible checksums that such stores reject on streamed
 * uploads; the copier computes and verifies SHA-256 itself either way.
 */
export function archiveClient(archive: ArchiveConfig): S3Client {
  const cacheKey = `${archive.region}|${archive.endpoint ?? ''}|${archive.forcePathStyle ?? false}`;
  let client = clients.get(cacheKey);
  if (!client) {
    client = new S3Client({
      region: archive.region,
      ...(archive.endpoint
        ? {
            endpoint: archive.endpoint,
            forcePathStyle: archive.forcePathStyle ?? true,
            requestChecksumCalculation: 'WHEN_REQUIRED' as const,
            responseChecksumValidation: 'WHEN_REQUIRED' as const,
          }
        : {}),
    });
    clients.set(cacheKey, client);
  }
  return client;
}

import type { KindFunctionSpec, NetworkReach } from './kind';

// What most functions of every kind share.

/** One vendor API call; it may honour a Retry-After of up to a minute inside the function. */
export const API_CALL = { archive: 'none', timeoutSeconds: 120, memoryMb: 256, nodeOptions: '--enable-source-maps' } as const;

/** Streams whole backups: the 15-minute Lambda ceiling, and memory for the upload's buffers and CPU for hashing. */
export const STREAMING = { timeoutSeconds: 900, memoryMb: 1024 } as const;

// A streaming copy churns through short-lived buffers; a small young generation has them
// collected promptly instead of letting RSS grow by tens of MiB. 2 MiB rather than 1:
// with 1 MiB, what lives across a wait for a slow store (a paused socket's chunks, the
// requests in flight) is promoted and swept from the old generation, which cost the
// copier 1.5-2 CPU s/GiB into the bench's local store (5.0-5.5 vs 3.4-3.6 s/GiB at
// 2 MiB, 3.5-4.2 at 4-16 MiB; peak RSS 130, 139 and 140-150 MiB: npm run bench).
export const COPY_NODE_OPTIONS = '--enable-source-maps --max-semi-space-size=2';

/**
 * The copy function's memory, for the CPU it brings (Lambda gives 1 vCPU at 1,769 MB, in
 * proportion below): the copy needs about 160 MiB of it and is otherwise CPU-bound.
 * npm run bench measures 2.8-3.6 CPU s/GiB for the copy as deployed (rclone copyurl:
 * 5.5-6.2); TLS both ways, which the bench does not have, adds about 1 s/GiB (AES-256-GCM at
 * 0.5 s/GiB each way). At 1024 MB (0.58 vCPU) that is a ceiling near 135 MiB/s, above
 * what one download stream usually delivers, and up to about 115 GiB within the 15-minute
 * limit; 768 MB would cap a copy near 100 MiB/s, 512 MB near 67 MiB/s (the copier before,
 * at 8.3 s/GiB, reached that at 1024 MB).
 */
export const COPY_MEMORY_MB = 1024;

/** A kind's CopyToArchive function: streams its vendor's download into the archive and writes the manifest. */
export function copyToArchiveFunction(id: string, entry: string, description: string, network: NetworkReach): KindFunctionSpec {
  return { id, entry, description, ...STREAMING, memoryMb: COPY_MEMORY_MB, archive: 'write', nodeOptions: COPY_NODE_OPTIONS, network, creates: false };
}

// What a prune decided and did, as `offsite prune --json` prints it (docs/design.md, "Command
// line"). The archive's prune and a kind that prunes at its vendor (vps) both produce it,
// so the CLI prints every kind the same way.
import type { z } from 'zod';
import type { retentionPolicy } from '../config/common';

export type RetentionPolicy = z.infer<typeof retentionPolicy>;

/** `locked`: Object Lock retention is not over yet, so the copy cannot be removed. */
export type PruneDecision = 'keep' | 'remove' | 'protected' | 'locked';

export interface PrunedCopy {
  /** Null for a catalogue record of a backup the provider holds. */
  readonly objectKey: string | null;
  readonly sourceBackupId: string;
  /** ISO 8601 UTC. */
  readonly createdAt: string;
  readonly decision: PruneDecision;
  /** The rule and period that keeps it (e.g. `keep-daily 2019-12-31`), or why it goes. */
  readonly reason: string;
  /** For `remove` outside a dry run: whether the removal worked, and the error when it did not. */
  readonly removal?: { readonly done: boolean; readonly error?: string };
}

export interface PruneReport {
  readonly target: string;
  readonly timezone: string;
  readonly policy: RetentionPolicy | null;
  readonly dryRun: boolean;
  /** Newest first. */
  readonly copies: readonly PrunedCopy[];
  /** The archive's secondary, when one is configured: its own copies, decided by its own listing and marks. */
  readonly secondary?: { readonly place: 'secondary'; readonly url: string; readonly copies: readonly PrunedCopy[] };
}

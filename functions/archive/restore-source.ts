// Which place a restore reads an archived copy from: the primary's copy, else the
// secondary's, each read back through SHA-256 against its manifest before a byte goes to
// the system being restored. The caller says why (the reason) when the primary's was passed
// over, and gets a named error listing every place's problem when none can be used.
import type { ArchivePlace } from './places';
import { checkCopy } from './verify';
import { ArchivedCopyUnusable, errorMessage } from '../shared/errors';

/** One place's copy of the backup and what its manifest records. */
export interface CopyInPlace {
  readonly place: ArchivePlace;
  readonly objectKey: string;
  readonly sizeBytes: number;
  readonly sha256: string;
}

export interface VerifiedCopy {
  readonly copy: CopyInPlace;
  /** Why the copies before it (or, from the plan, the primary's) were not used; null: the first choice was fine. */
  readonly reason: string | null;
}

export function copyUrl(copy: Pick<CopyInPlace, 'place' | 'objectKey'>): string {
  return `s3://${copy.place.bucket}/${copy.objectKey}`;
}

async function problemWith(copy: CopyInPlace): Promise<string | undefined> {
  const named = `the ${copy.place.name} copy ${copy.objectKey}`;
  try {
    const check = await checkCopy(copy.place.s3, copy.place.bucket, { manifest: copy });
    if (check.result === 'ok') return undefined;
    if (check.result === 'missing') return `${named} is missing`;
    return `${named} fails verification (${check.actual.sizeBytes ?? '?'} bytes, sha256 ${check.actual.sha256 ?? '?'}; its manifest records ${copy.sizeBytes} bytes, sha256 ${copy.sha256})`;
  } catch (error) {
    // A read that breaks off says nothing good about the copy; another place may serve.
    return `${named} could not be read (${errorMessage(error)})`;
  }
}

/**
 * The first of `copies` (the primary's first) that reads back as its manifest records.
 * `earlier`: why the plan already passed the primary over (its copy missing from the
 * listing), said again when a later copy is used or none is. `notHeld`: places with no
 * usable copy of the backup when the restore was planned, named in the error too.
 */
export async function firstVerifiedCopy(copies: readonly CopyInPlace[], earlier: string | null, notHeld: readonly ArchivePlace[] = []): Promise<VerifiedCopy> {
  const problems: string[] = earlier ? [earlier] : [];
  for (const copy of copies) {
    const problem = await problemWith(copy);
    if (problem === undefined) return { copy, reason: problems.length > 0 ? problems.join('; ') : null };
    problems.push(problem);
  }
  problems.push(...notHeld.map((place) => `the ${place.name} ${place.url} listed no usable copy of it when the restore was planned`));
  const places = [...new Set([...copies.map((copy) => copy.place), ...notHeld].map((place) => `${place.name} ${place.url}`))].join(', ');
  throw new ArchivedCopyUnusable(`Nothing was uploaded or restored: no archived copy of this backup is usable (looked in ${places}): ${problems.join('; ')}.`);
}

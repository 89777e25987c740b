// `offsite protect|unprotect <target> <objectKey>`: the mark retention never removes a
// copy under (an object tag, or a legal hold where the place has Object Lock), set on the
// copy in every place: retention runs in each place on its own marks (prune.ts).
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { manifestKeyFor } from '../../functions/archive/manifest';
import { archivePlaces, keyInPlace, type ArchivePlace } from '../../functions/archive/places';
import { setProtection } from '../../functions/archive/prune-protection';
import { findTarget } from '../../functions/config/load';
import type { OffsiteConfig } from '../../functions/config/schema';
import { InvalidInput } from '../../functions/shared/errors';
import type { CliIo, CommandResult } from './commands';

async function hasManifest(place: ArchivePlace, objectKey: string): Promise<boolean> {
  try {
    await place.s3.send(new HeadObjectCommand({ Bucket: place.bucket, Key: manifestKeyFor(objectKey) }));
    return true;
  } catch {
    return false;
  }
}

/** The place whose prefix the key is under (the longest prefix wins: one place's prefix may start another's). */
function placeOfKey(places: readonly ArchivePlace[], target: string, objectKey: string): ArchivePlace | undefined {
  return [...places].sort((a, b) => b.prefix.length - a.prefix.length).find((place) => objectKey.startsWith(`${place.prefix}${target}/`));
}

export async function protectCommand(config: OffsiteConfig, targetName: string, objectKey: string, io: CliIo, options: { readonly protect: boolean }): Promise<CommandResult> {
  const target = findTarget(config, targetName);
  const places = await archivePlaces(config);
  const named = placeOfKey(places, target.name, objectKey);
  if (!named || objectKey.endsWith('.manifest.json')) {
    const prefixes = places.map((place) => `${place.prefix}${target.name}/`).join(' or ');
    throw new InvalidInput(`"${objectKey}" is not an archived copy of ${target.name}: give the object key \`offsite list ${target.name}\` shows (it starts with ${prefixes}).`);
  }
  // Only a copy (an object with its manifest) is a backup; one place lacking it (the
  // secondary not caught up yet, or the primary's copy lost) is said, the other is marked.
  const found = await Promise.all(places.map(async (place) => ({ place, key: keyInPlace(objectKey, named, place), present: await hasManifest(place, keyInPlace(objectKey, named, place)) })));
  if (!found.some((entry) => entry.present)) {
    throw new InvalidInput(`"${objectKey}" has no manifest in ${places.map((place) => place.url).join(' nor in ')}: it is not an archived copy of ${target.name}.`);
  }
  const verb = options.protect ? 'protected' : 'unprotected';
  for (const { place, key, present } of found) {
    // Without a secondary the output is as it always was; with one, each line names its place.
    const where = places.length > 1 ? `${place.name} ${place.url}: ` : '';
    if (!present) {
      io.err(`${where}no copy of ${key} there (not copied yet, or lost): nothing ${verb} in the ${place.name}`);
      continue;
    }
    await setProtection(place.s3, place.bucket, key, options.protect, place.objectLock);
    io.err(`${where}${verb} (${place.objectLock ? 'legal hold on the object and its manifest' : `object tag offsite:protected`})`);
  }
  io.out(objectKey);
  return { exitCode: 0 };
}

// `offsite verify <target> [--json]`: every archived copy of the target, in every place,
// read back and compared with its manifest (docs/design.md, "Command line").
import { archivePlaces, primaryPlace } from '../../functions/archive/places';
import { archivesCopies } from '../../functions/archive/status';
import { verifyTargetInPlaces, type PlacedCopyCheck } from '../../functions/archive/verify';
import { findTarget } from '../../functions/config/load';
import type { OffsiteConfig } from '../../functions/config/schema';
import { systemClock, type Clock } from '../../functions/shared/clock';
import type { CliIo, CommandResult } from './commands';
import { formatBytes } from './format';

/** One line per copy; with a secondary each names its place (without one, the lines read as they always did). */
function describe(check: PlacedCopyCheck, namePlace: boolean): string {
  const key = namePlace ? `${check.place.padEnd(9)}  ${check.objectKey}` : check.objectKey;
  if (check.result === 'ok') return `ok       ${key}  ${formatBytes(check.expected.sizeBytes)}`;
  if (check.result === 'missing') {
    return `MISSING  ${key}  (${check.expectedFrom === 'primary' ? 'the primary holds this copy, the secondary does not' : 'the manifest is there, the object is not'})`;
  }
  return (
    `DIFFERS  ${key}  expected ${check.expected.sizeBytes} bytes sha256 ${check.expected.sha256}, ` +
    `found ${check.actual.sizeBytes ?? '?'} bytes sha256 ${check.actual.sha256 ?? '?'}`
  );
}

export async function verifyCommand(config: OffsiteConfig, targetName: string, io: CliIo, options: { json?: boolean; clock?: Clock } = {}): Promise<CommandResult> {
  const target = findTarget(config, targetName);
  // Backups the provider holds (vps) and audits have nothing in the secondary to read.
  const places = archivesCopies(target) ? await archivePlaces(config) : [primaryPlace(config)];
  const namePlaces = places.length > 1;
  const where = places.map((place) => `${place.url}${target.name}/${namePlaces ? ` (${place.name})` : ''}`).join(' and ');
  io.err(`Verifying the archived copies of ${target.name} in ${where}`);
  const report = await verifyTargetInPlaces(places, target.name, options.clock ?? systemClock, options.json ? undefined : (check) => io.out(describe(check, namePlaces)));
  const inPlace = (place: string): string => (namePlaces ? ` in the ${place}` : '');
  for (const { place, manifestKey } of report.unreadableManifests) io.err(`warning: manifest ${manifestKey}${inPlace(place)} cannot be read; its copy was not verified`);
  const bad = report.copies.filter((check) => check.result !== 'ok');
  if (options.json) {
    // `unreadableManifests` keeps its meaning (the primary's keys); the secondary's are in `secondaryUnreadableManifests`.
    const unreadable = (place: string): string[] => report.unreadableManifests.filter((entry) => entry.place === place).map((entry) => entry.manifestKey);
    io.out(JSON.stringify({ target: report.target, copies: report.copies, unreadableManifests: unreadable('primary'), ...(namePlaces ? { secondaryUnreadableManifests: unreadable('secondary') } : {}) }));
  } else if (report.copies.length === 0) io.out(`No archived copies of ${target.name} to verify (backups the provider holds cannot be read back).`);
  else io.out(`${report.copies.length - bad.length} of ${report.copies.length} copies match their manifests${namePlaces ? ' (both places counted)' : ''}.`);
  for (const check of bad) io.err(`verify failed: ${check.objectKey}${inPlace(check.place)} ${check.result === 'missing' ? 'is missing' : check.expectedFrom === 'primary' ? "differs from the primary's manifest (it is not a copy of that backup)" : 'differs from its manifest'}`);
  // A manifest that cannot be read hides a copy nobody checked: that is not "all match".
  for (const { place, manifestKey } of report.unreadableManifests) io.err(`verify failed: manifest ${manifestKey}${inPlace(place)} cannot be read (or names another object), so its copy is unverified`);
  return { exitCode: bad.length > 0 || report.unreadableManifests.length > 0 ? 1 : 0 };
}

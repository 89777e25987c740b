// `offsite status [--json]`: one row per target, its newest verified copy against its
// schedule (docs/design.md, "Command line").
import { DateTime } from 'luxon';
import { archivePlaces } from '../../functions/archive/places';
import { archiveStatus, isOverdue, placesBehind, type PlaceStatus, type TargetStatus } from '../../functions/archive/status';
import type { OffsiteConfig } from '../../functions/config/schema';
import { drillStatuses, isDrillOverdue, type DrillStatus } from '../../functions/drill/freshness';
import type { CliIo, CommandResult } from './commands';
import { formatAge, formatBytes } from './format';

function localTime(iso: string | null, timezone: string): string {
  return iso ? DateTime.fromISO(iso, { zone: timezone }).toFormat('yyyy-MM-dd HH:mm') : '-';
}

function nextRunText(status: TargetStatus, timezone: string): string {
  if (status.nextRunAt) return localTime(status.nextRunAt, timezone);
  return status.schedule ?? '-';
}

function verificationText(status: TargetStatus, timezone: string): string {
  if (!status.lastVerification) return status.copies > 0 ? 'when copied' : '-';
  const bad = status.badCopies > 0 ? ` (${status.badCopies} BAD)` : '';
  return `${localTime(status.lastVerification.at, timezone)} ${status.lastVerification.result}${bad}`;
}

/** A place's cell: its state, then what it lacks or holds bad ("ok, 2 MISSING"); "-" where the target has nothing to hold there. */
function placeText(place: PlaceStatus | null | undefined): string {
  if (!place) return '-';
  const parts = [place.state === 'ok' ? 'ok' : place.state.toUpperCase()];
  if ((place.missingCopies ?? 0) > 0) parts.push(`${place.missingCopies} MISSING`);
  if (place.badCopies > 0) parts.push(`${place.badCopies} BAD`);
  return parts.join(', ');
}

function overdueText(status: TargetStatus): string[] {
  if (!status.places) {
    return [
      status.state === 'never'
        ? `${status.name} is scheduled but has no verified copy yet`
        : `${status.name} is stale: its newest verified copy (${status.lastCopyAt ?? '?'}) was due to be replaced by ${status.staleAt ?? '?'}`,
    ];
  }
  const behind = placesBehind(status);
  if (behind.length > 1 && behind.every(({ state }) => state === 'never')) return [`${status.name} is scheduled but has no verified copy yet (in neither place)`];
  return behind.map(({ place, state }) => {
    const view = status.places?.[place];
    return state === 'never'
      ? `${status.name} is scheduled but has no verified copy in the ${place} yet`
      : `${status.name} is stale in the ${place}: its newest verified copy there (${view?.lastCopyAt ?? '?'}) was due to be replaced by ${view?.staleAt ?? '?'}`;
  });
}

export async function statusCommand(config: OffsiteConfig, io: CliIo, options: { json?: boolean; now?: Date } = {}): Promise<CommandResult & { targets: readonly TargetStatus[] }> {
  const now = options.now ?? new Date();
  const places = await archivePlaces(config);
  const [primary] = places;
  if (!primary) throw new Error('status: no archive place');
  const [targets, drills] = await Promise.all([archiveStatus(config, places, now), drillStatuses(config, primary.s3, now)]);
  const exitCode = targets.some(isOverdue) ? 1 : 0;
  const drillOf = (name: string): DrillStatus | undefined => drills.find((drill) => drill.name === name && drill.state !== 'none');
  if (options.json) {
    const rows = targets.map((status) => {
      const drill = drillOf(status.name);
      return drill ? { ...status, drill: { state: drill.state, lastPassedAt: drill.lastPassedAt, lastOutcome: drill.lastOutcome, schedule: drill.schedule } } : status;
    });
    io.out(JSON.stringify({ generatedAt: now.toISOString(), timezone: config.timezone, targets: rows }));
    return { exitCode, targets };
  }
  // The column appears once any target has a drill.
  const anyDrill = drills.some((drill) => drill.state !== 'none');
  const drillText = (name: string): string => {
    const drill = drillOf(name);
    if (!drill) return '-';
    if (!drill.lastPassedAt) return drill.state === 'never' ? 'NEVER' : 'none yet';
    return `${formatAge(new Date(drill.lastPassedAt), now)} ago${drill.state === 'overdue' ? ' OVERDUE' : ''}`;
  };
  // A column per place once a secondary is configured: STATE is then the worse of the two.
  const twoPlaces = places.length > 1;
  const rows = targets.map((status) => [
    status.name,
    status.kind,
    status.state === 'ok' ? 'ok' : status.state.toUpperCase(),
    ...(twoPlaces ? [placeText(status.places?.primary), placeText(status.places?.secondary)] : []),
    localTime(status.lastCopyAt, config.timezone),
    status.lastCopyAt ? formatAge(new Date(status.lastCopyAt), now) : '-',
    status.lastCopySizeBytes === null ? '-' : formatBytes(status.lastCopySizeBytes),
    String(status.copies),
    `${formatBytes(status.bytes)}${status.heldBy === 'provider' ? ' (at the provider)' : ''}`,
    nextRunText(status, config.timezone),
    verificationText(status, config.timezone),
    ...(anyDrill ? [drillText(status.name)] : []),
  ]);
  const header = ['TARGET', 'KIND', 'STATE', ...(twoPlaces ? ['PRIMARY', 'SECONDARY'] : []), 'NEWEST COPY', 'AGE', 'SIZE', 'COPIES', 'BYTES', 'NEXT RUN', 'LAST VERIFIED', ...(anyDrill ? ['LAST DRILL PASSED'] : [])];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  for (const row of [header, ...rows]) io.out(row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd());
  io.out(`(times in ${config.timezone}${twoPlaces ? `; NEWEST COPY to LAST VERIFIED are the primary's, ${primary.url}; the secondary is ${places[1]?.url ?? '?'}` : ''})`);
  for (const status of targets.filter((candidate) => candidate.heldBy === 'provider')) {
    io.out(`${status.name}: its backups are held by the provider, not off-site.`);
  }
  for (const status of targets.filter(isOverdue)) for (const line of overdueText(status)) io.err(line);
  for (const drill of drills.filter(isDrillOverdue)) {
    io.err(drill.state === 'never' ? `${drill.name}'s drill is scheduled but none has passed yet` : `${drill.name}'s last passed drill (${drill.lastPassedAt ?? '?'}) is older than its drill schedule allows`);
  }
  return { exitCode, targets };
}

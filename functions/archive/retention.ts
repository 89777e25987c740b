// Retention exactly as Proxmox Backup Server prunes (pbs-datastore `compute_prune_info`,
// the same marking pve-storage's `prune_mark_backup_group` does): newest first, rules in
// the order last, hourly, daily, weekly, monthly, yearly; each rule keeps the newest copy
// of each period until it has kept N periods; a period that already holds a copy an
// earlier rule kept is skipped without using up the count; a copy in a period this rule
// already kept is marked for removal and no later rule can rescue it; protected copies
// are always kept; whatever is left unmarked is removed; no option above 0 keeps
// everything. Pure: no I/O, no clock.
import { DateTime, Info } from 'luxon';
import type { RetentionPolicy } from './prune-report';

export interface RetentionCandidate {
  readonly id: string;
  /** ISO 8601; the copy's manifest `createdAt` (vendor time). */
  readonly createdAt: string;
  readonly protected: boolean;
}

export interface RetentionDecision {
  readonly id: string;
  readonly decision: 'keep' | 'remove' | 'protected';
  /** The rule and period that keeps it (`keep-daily 2019-12-31`, `keep-last 1`), or why it goes. */
  readonly reason: string;
}

type Rule = 'keep-last' | 'keep-hourly' | 'keep-daily' | 'keep-weekly' | 'keep-monthly' | 'keep-yearly';

const RULES: readonly { readonly rule: Rule; readonly option: keyof RetentionPolicy }[] = [
  { rule: 'keep-last', option: 'keepLast' },
  { rule: 'keep-hourly', option: 'keepHourly' },
  { rule: 'keep-daily', option: 'keepDaily' },
  { rule: 'keep-weekly', option: 'keepWeekly' },
  { rule: 'keep-monthly', option: 'keepMonthly' },
  { rule: 'keep-yearly', option: 'keepYearly' },
];

interface Entry {
  readonly candidate: RetentionCandidate;
  readonly millis: number;
  readonly local: DateTime;
}

type Mark = { readonly decision: 'keep'; readonly reason: string } | { readonly decision: 'remove'; readonly reason: string };

const pad2 = (n: number): string => String(n).padStart(2, '0');

/**
 * The period a copy falls in for a rule, read off the wall clock in the configured time
 * zone, as PBS's `strftime_local` does (`%Y/%m/%d/%H`, `%Y/%m/%d`, `%G/%V`, `%Y/%m`, `%Y`).
 * So a day is a local calendar day whatever its length (23 or 25 hours across DST), and in
 * the repeated hour of a fall-back night both real hours carry the same label and count as
 * one hourly period — exactly what PBS does; offsite does not try to be cleverer than it.
 */
function periodOf(rule: Exclude<Rule, 'keep-last'>, local: DateTime): string {
  switch (rule) {
    case 'keep-hourly':
      return `${local.toFormat('yyyy-MM-dd')}T${pad2(local.hour)}`;
    case 'keep-daily':
      return local.toFormat('yyyy-MM-dd');
    case 'keep-weekly':
      return `${String(local.weekYear).padStart(4, '0')}-W${pad2(local.weekNumber)}`;
    case 'keep-monthly':
      return local.toFormat('yyyy-MM');
    case 'keep-yearly':
      return local.toFormat('yyyy');
  }
}

/** Proxmox Backup Server's prune, periods in `timeZone`; decisions newest first. */
export function planRetention(candidates: readonly RetentionCandidate[], policy: RetentionPolicy | undefined, timeZone: string): RetentionDecision[] {
  if (!Info.isValidIANAZone(timeZone)) throw new RangeError(`retention: '${timeZone}' is not an IANA time zone`);
  const entries: Entry[] = candidates.map((candidate) => {
    const utc = DateTime.fromISO(candidate.createdAt, { zone: 'utc' });
    if (!utc.isValid) throw new RangeError(`retention: copy '${candidate.id}' has createdAt '${candidate.createdAt}', which is not ISO 8601`);
    return { candidate, millis: utc.toMillis(), local: utc.setZone(timeZone) };
  });
  // Newest first; equal times fall back to the id so the plan never depends on listing order.
  entries.sort((a, b) => b.millis - a.millis || (a.candidate.id < b.candidate.id ? -1 : a.candidate.id > b.candidate.id ? 1 : 0));

  const active = RULES.map(({ rule, option }) => ({ rule, count: policy?.[option] ?? 0 })).filter(({ count }) => count > 0);
  if (active.length === 0) {
    const reason = policy === undefined ? 'no retention configured: every copy is kept' : 'no keep option above 0: every copy is kept';
    return entries.map(({ candidate }) =>
      candidate.protected ? { id: candidate.id, decision: 'protected', reason: 'protected' } : { id: candidate.id, decision: 'keep', reason },
    );
  }

  const marks = new Map<string, Mark>();
  for (const { rule, count } of active) {
    // keep-last's period is the copy itself (PBS uses the backup time, unique per snapshot;
    // offsite's copies may share a createdAt, so the id stands in for it).
    const periodFor = (entry: Entry): string => (rule === 'keep-last' ? `copy ${entry.candidate.id}` : periodOf(rule, entry.local));
    const alreadyKept = new Set<string>();
    for (const entry of entries) {
      if (marks.get(entry.candidate.id)?.decision === 'keep') alreadyKept.add(periodFor(entry));
    }
    const keptNow = new Map<string, string>();
    for (const entry of entries) {
      const { id } = entry.candidate;
      if (marks.has(id) || entry.candidate.protected) continue;
      const period = periodFor(entry);
      if (alreadyKept.has(period)) continue;
      const keeper = keptNow.get(period);
      if (keeper === undefined) {
        if (keptNow.size >= count) break;
        keptNow.set(period, id);
        marks.set(id, { decision: 'keep', reason: rule === 'keep-last' ? `keep-last ${keptNow.size}` : `${rule} ${period}` });
      } else {
        marks.set(id, { decision: 'remove', reason: `${rule} ${period} already kept by the newer copy ${keeper}` });
      }
    }
  }

  return entries.map(({ candidate }): RetentionDecision => {
    if (candidate.protected) return { id: candidate.id, decision: 'protected', reason: 'protected' };
    const mark = marks.get(candidate.id);
    if (mark !== undefined) return { id: candidate.id, ...mark };
    return { id: candidate.id, decision: 'remove', reason: `outside ${active.map(({ rule, count }) => `${rule} ${count}`).join(', ')}` };
  });
}

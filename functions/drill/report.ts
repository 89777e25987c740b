// The drill report: one JSON document per drill at <prefix><target>/drills/<time>.json —
// which copy, where, how long each phase took, what each check saw. The drill history
// (and so drill freshness) is read back from these documents.
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { archiveWriter } from '../archive/archive-writer';
import type { WriteEncryption } from '../archive/places';
import type { DrillPlan } from './plan';
import type { DrillCheckResult } from './rules';

export type DrillOutcome = 'passed' | 'check-failed' | 'restore-failed';

export interface DrillPhase {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationMs: number;
}

export interface DrillReport {
  readonly formatVersion: 1;
  readonly target: string;
  readonly kind: string;
  readonly execution: string;
  readonly destination: string;
  readonly copy: DrillPlan['copy'];
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly outcome: DrillOutcome;
  /** One sentence: passed, or the failing check / restore error in words. */
  readonly summary: string;
  readonly phases: { readonly restore: DrillPhase; readonly checks: DrillPhase | null };
  readonly restore: { readonly succeeded: boolean; readonly error: string | null; readonly cause: string | null };
  readonly checks: readonly DrillCheckResult[];
  readonly failedChecks: readonly string[];
}

/** The child restore execution's failure, as the startExecution.sync integration reports it. */
export interface TaskFailure {
  readonly Error?: string;
  readonly Cause?: string;
}

/**
 * The restore lifecycle's own Error and Cause. A failed child execution fails the
 * `startExecution.sync:2` Task with States.TaskFailed and, as Cause, the child's
 * description as JSON; the AWS documentation shows its fields capitalised (Error, Cause,
 * Status) but does not promise it, so the lower-case API spelling is accepted too, and a
 * Cause that is not JSON is kept as it is.
 */
export function childFailure(failure: TaskFailure): { error: string; cause: string | null } {
  const cause = failure.Cause ?? null;
  if (cause !== null) {
    try {
      const described = JSON.parse(cause) as Record<string, unknown>;
      const error = described.Error ?? described.error;
      const childCause = described.Cause ?? described.cause;
      if (typeof error === 'string') return { error, cause: typeof childCause === 'string' ? childCause : null };
    } catch {
      // not JSON: the failure is the Task's own (e.g. the execution could not be started)
    }
  }
  return { error: failure.Error ?? 'RestoreFailed', cause };
}

function phase(startedAt: string, finishedAt: string): DrillPhase {
  return { startedAt, finishedAt, durationMs: Math.max(0, new Date(finishedAt).getTime() - new Date(startedAt).getTime()) };
}

export interface DrillResult {
  readonly plan: DrillPlan;
  readonly execution: string;
  readonly restoreError?: TaskFailure;
  readonly checks?: { readonly startedAt: string; readonly finishedAt: string; readonly results: readonly DrillCheckResult[] };
  readonly checksError?: TaskFailure;
}

export function buildDrillReport(result: DrillResult, now: Date): DrillReport {
  const { plan } = result;
  const finishedAt = now.toISOString();
  const restoreFailure = result.restoreError ? childFailure(result.restoreError) : undefined;
  const checksFailure = result.checksError ? { Error: result.checksError.Error ?? 'DrillChecksFailed', Cause: result.checksError.Cause ?? '' } : undefined;
  const checks: DrillCheckResult[] = [
    ...(result.checks?.results ?? []),
    ...(checksFailure ? [{ name: 'checks', passed: false, expected: null, observed: null, message: `the checks could not run: ${checksFailure.Error}${checksFailure.Cause ? ` (${checksFailure.Cause})` : ''}` }] : []),
  ];
  const failedChecks = checks.filter((check) => !check.passed).map((check) => check.name);
  const restoreFinishedAt = result.checks?.startedAt ?? finishedAt;
  const outcome: DrillOutcome = restoreFailure ? 'restore-failed' : failedChecks.length > 0 ? 'check-failed' : 'passed';
  const summary =
    outcome === 'restore-failed'
      ? `the restore onto ${plan.destination} failed: ${restoreFailure?.error ?? '?'}${restoreFailure?.cause ? ` — ${restoreFailure.cause}` : ''}`
      : outcome === 'check-failed'
        ? `check failed: ${checks
            .filter((check) => !check.passed)
            .map((check) => `${check.name} (${check.message})`)
            .join('; ')}`
        : `restored ${plan.copy.sourceBackupId} onto ${plan.destination}; every check passed (${checks.map((check) => check.name).join(', ')})`;
  return {
    formatVersion: 1,
    target: plan.target,
    kind: plan.kind,
    execution: result.execution,
    destination: plan.destination,
    copy: plan.copy,
    startedAt: plan.startedAt,
    finishedAt,
    outcome,
    summary,
    phases: {
      restore: phase(plan.startedAt, restoreFailure ? finishedAt : restoreFinishedAt),
      checks: result.checks ? phase(result.checks.startedAt, result.checks.finishedAt) : null,
    },
    restore: { succeeded: !restoreFailure, error: restoreFailure?.error ?? null, cause: restoreFailure?.cause ?? null },
    checks,
    failedChecks,
  };
}

export function drillFolder(prefix: string, target: string): string {
  return `${prefix}${target}/drills/`;
}

/** `<prefix><target>/drills/<start time, UTC>.json`: sorts by time. */
export function drillReportKey(prefix: string, target: string, startedAt: string): string {
  return `${drillFolder(prefix, target)}${new Date(startedAt).toISOString().replace(/:/g, '-')}.json`;
}

export async function writeDrillReport(s3: S3Client, bucket: string, prefix: string, report: DrillReport, encryption?: WriteEncryption): Promise<string> {
  const key = drillReportKey(prefix, report.target, report.startedAt);
  await archiveWriter(s3, bucket, encryption).putJson(key, report);
  return key;
}

const reportHead = z.looseObject({ target: z.string(), outcome: z.enum(['passed', 'check-failed', 'restore-failed']), startedAt: z.string(), finishedAt: z.string(), summary: z.string() });

export interface DrillHistory {
  /** The newest drill report of the target, whatever its outcome. */
  readonly last: { readonly key: string; readonly outcome: DrillOutcome; readonly finishedAt: string; readonly summary: string } | null;
  /** The newest drill that passed. */
  readonly lastPassed: { readonly key: string; readonly finishedAt: string } | null;
}

/** How many reports back the history looks for a passed drill: a target failing longer than that is overdue either way. */
const MAX_REPORTS_READ = 50;

export async function readDrillHistory(s3: S3Client, bucket: string, prefix: string, target: string): Promise<DrillHistory> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: drillFolder(prefix, target), ContinuationToken: token }));
    for (const object of page.Contents ?? []) if (object.Key?.endsWith('.json')) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  keys.sort().reverse();
  let last: DrillHistory['last'] = null;
  for (const key of keys.slice(0, MAX_REPORTS_READ)) {
    let head: z.infer<typeof reportHead>;
    try {
      const answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      head = reportHead.parse(JSON.parse((await answer.Body?.transformToString('utf8')) ?? ''));
    } catch {
      continue; // an unreadable report proves nothing either way
    }
    last ??= { key, outcome: head.outcome, finishedAt: head.finishedAt, summary: head.summary };
    if (head.outcome === 'passed') return { last, lastPassed: { key, finishedAt: head.finishedAt } };
  }
  return { last, lastPassed: null };
}

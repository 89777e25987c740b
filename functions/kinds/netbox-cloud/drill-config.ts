// The `drill` block of a NetBox Cloud target: where its restore is rehearsed, when, and what the
// restored system must show (the shared refusal is in functions/drill/config.ts).
import { z } from 'zod';
import { apiBaseUrl, credentialsRef, scheduleExpression } from '../../config/common';

/** `dcim/devices`, `ipam/prefixes`, `plugins/foo/bars`: a NetBox list path, no slashes at the ends. */
const netboxListPath = z.string().regex(/^[a-z0-9_-]+(\/[a-z0-9_-]+)+$/, 'expected a NetBox list path such as dcim/devices');

const tolerancePercent = z.number({ error: 'expected a percentage such as 2' }).min(0, 'expected 0 or more').max(100, 'expected at most 100');

/**
 * One object count: a list path (it takes `checks.tolerancePercent`), or `{ path, tolerancePercent }`
 * for a path that needs its own. Both forms may be mixed in one list.
 */
const objectCount = z.union([netboxListPath, z.object({ path: netboxListPath, tolerancePercent: tolerancePercent.optional() }).strict()], {
  error: 'expected a NetBox list path such as "dcim/devices", or { "path": "dcim/devices", "tolerancePercent": 2 }',
});

export interface ObjectCountCheck {
  readonly path: string;
  /** How far the restored count may be from the source's, in percent of the source's count (see withinTolerance). */
  readonly tolerancePercent: number;
}

/**
 * "Within tolerance", exactly: the restored count differs from the source's by at most
 * tolerancePercent of the source's count, boundary included; as counts are whole, that
 * allowance is rounded down to a whole number of objects (2 % of 250 allows 5, of 249 allows 4).
 */
export function allowedDifference(sourceCount: number, percent: number): number {
  // The epsilon keeps binary fractions from costing a whole object: 2.3 % of 3000 allows 69, not 68.
  return Math.floor((sourceCount * percent) / 100 + 1e-9);
}

export function withinTolerance(sourceCount: number, restoredCount: number, percent: number): boolean {
  return Math.abs(restoredCount - sourceCount) <= allowedDifference(sourceCount, percent);
}

/** A NetBox REST API: its base URL (`/api/` is added) and a read-only token. */
const netboxRestApi = z.object({ baseUrl: apiBaseUrl, credentials: credentialsRef }).strict();

export const netboxCloudDrillSchema = z
  .object({
    /** The NetBox Cloud instance the drill restores onto (never the target's own instanceId). */
    to: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'expected a NetBox Cloud instance id such as nb-b23ff000888'),
    schedule: scheduleExpression.optional(),
    checks: z
      .object({
        /** The restored instance's REST API (its /api/status/ must report the backup's NetBox version). */
        restored: netboxRestApi,
        /** The production instance's REST API, which the object counts are compared with. */
        source: netboxRestApi.optional(),
        objectCounts: z.array(objectCount).max(20, 'expected at most 20 object counts').default([]),
        /** The tolerance of every listed path that does not give its own (default 0: the counts must be equal). */
        tolerancePercent: tolerancePercent.default(0),
      })
      .strict()
      .transform(({ objectCounts, tolerancePercent: common, ...rest }) => ({
        ...rest,
        objectCounts: objectCounts.map(
          (entry): ObjectCountCheck => (typeof entry === 'string' ? { path: entry, tolerancePercent: common } : { path: entry.path, tolerancePercent: entry.tolerancePercent ?? common }),
        ),
      }))
      .refine((checks) => checks.objectCounts.length === 0 || checks.source !== undefined, {
        message: 'objectCounts are compared with the source instance: give checks.source (baseUrl and credentials)',
        path: ['source'],
      })
      .optional(),
  })
  .strict();

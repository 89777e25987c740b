// How scheduled runs of many targets are spread out (the fan-out, state-machines/fan-out.asl.json).
import { z } from 'zod';
import { TARGET_KINDS, type TargetKind } from '../kinds/registry';

/** A fan-out runs this many targets of a kind at once unless `fleet.maxConcurrency` says otherwise. */
export const DEFAULT_MAX_CONCURRENCY = 4;
/**
 * An inline Map state runs at most 40 iterations at once, whatever MaxConcurrency says
 * (Step Functions quotas); a higher value would promise what AWS does not do.
 */
export const MAX_CONCURRENCY_LIMIT = 40;

const concurrency = z
  .number({ error: 'expected a whole number of targets run at once' })
  .int('expected a whole number of targets run at once')
  .min(1, 'expected at least 1 target at once')
  .max(MAX_CONCURRENCY_LIMIT, `expected at most ${MAX_CONCURRENCY_LIMIT} (an inline Map state runs at most ${MAX_CONCURRENCY_LIMIT} iterations at once)`);

export const fleetSettings = z
  .object({
    /** Targets of one kind started at once by one scheduled group, per kind (absent kinds: DEFAULT_MAX_CONCURRENCY). */
    maxConcurrency: z
      .object(Object.fromEntries(TARGET_KINDS.map((kind) => [kind, concurrency.optional()])) as Record<TargetKind, z.ZodOptional<typeof concurrency>>)
      .strict()
      .default({}),
    /** Each target of a scheduled group waits a random 0..startJitterSeconds before it starts (0: none). */
    startJitterSeconds: z
      .number({ error: 'expected a whole number of seconds' })
      .int('expected a whole number of seconds')
      .min(0, 'expected 0 or more seconds')
      .max(3600, 'expected at most 3600 seconds (one hour)')
      .default(0),
  })
  .strict();

export type FleetSettings = z.infer<typeof fleetSettings>;

export function maxConcurrencyFor(fleet: FleetSettings | undefined, kind: TargetKind): number {
  return fleet?.maxConcurrency[kind] ?? DEFAULT_MAX_CONCURRENCY;
}

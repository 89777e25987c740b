import { z } from 'zod';
import type { PollPolicy } from '../config/schema';

/**
 * Where a Wait/Choice poll loop stands. Elapsed time is the sum of the waits the loop
 * has asked for, not wall-clock time, so the loop is bounded by its attempt count even
 * when waits are shortened (tests) or an execution is paused.
 */
export interface PollState {
  readonly attempt: number;
  readonly waitSeconds: number;
  readonly elapsedSeconds: number;
  readonly exhausted: boolean;
}

/** A PollState as a Task receives it back from the state machine. */
export const pollStateSchema = z.object({
  attempt: z.number().int().nonnegative(),
  waitSeconds: z.number().int().positive(),
  elapsedSeconds: z.number().nonnegative(),
  exhausted: z.boolean(),
});

export function startPoll(policy: PollPolicy): PollState {
  return { attempt: 0, waitSeconds: policy.initialSeconds, elapsedSeconds: 0, exhausted: false };
}

/** The state after one more check: waits double from initialSeconds up to maxSeconds until timeoutMinutes is spent. */
export function advancePoll(previous: PollState, policy: PollPolicy): PollState {
  const elapsedSeconds = previous.elapsedSeconds + previous.waitSeconds;
  const budgetSeconds = policy.timeoutMinutes * 60;
  const waitSeconds = Math.min(previous.waitSeconds * 2, policy.maxSeconds, Math.max(1, budgetSeconds - elapsedSeconds));
  return { attempt: previous.attempt + 1, waitSeconds, elapsedSeconds, exhausted: elapsedSeconds >= budgetSeconds };
}

/** The most checks a loop can make under a policy: what bounds every poll loop. */
export function maxPollAttempts(policy: PollPolicy): number {
  let state = startPoll(policy);
  while (!state.exhausted) state = advancePoll(state, policy);
  return state.attempt;
}

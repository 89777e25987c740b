// How a scheduled group is named: by eight hex digits of its schedule expression, so the same
// group keeps the same schedule, alarm and metric names on every deploy. Plain code (no AWS
// SDK): the CDK app and the handlers both use it.
import { createHash } from 'node:crypto';

/** Eight hex digits of the expression. */
export function expressionTag(expression: string): string {
  return createHash('sha256').update(expression).digest('hex').slice(0, 8);
}

/** The group a target's scheduled runs belong to: its expression's tag, or "unscheduled" (run by hand only). */
export function scheduleGroupTag(schedule: string | undefined): string {
  return schedule === undefined ? 'unscheduled' : expressionTag(schedule);
}

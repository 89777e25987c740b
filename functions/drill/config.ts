// The `drill` block a target may carry (docs/drills.md): where its restore is rehearsed, when,
// and what the restored system must show. Each kind that can restore has its own schema
// (functions/kinds/<kind>/drill-config.ts); each refuses a destination equal to its own target.

/** The refusal every kind's schema adds: a drill never restores onto the production target itself. */
export function ownDestinationRefusal(what: string): { message: string; path: string[] } {
  return { message: `a drill restores onto another ${what}, never the target's own: drill.to equals it`, path: ['drill', 'to'] };
}

// Fault injection: "the next N requests of route X answer with Y". A test arms a fault
// through the simulator's control methods; the simulator takes it when a request matches.

/** Which requests a fault waits for: this method (any when absent), a path that includes this text (any when absent). */
export interface RequestMatch {
  method?: string;
  pathIncludes?: string;
}

interface Pending<T> {
  value: T;
  remaining: number;
  match: RequestMatch;
}

export class FaultQueue<T> {
  private readonly pending: Array<Pending<T>> = [];

  /** The next `times` matching requests get `value`, once the faults armed before it for them are used up. */
  add(value: T, times = 1, match: RequestMatch = {}): void {
    // Zero times is no fault at all, which is how a test disarms one it armed with replace().
    if (times <= 0) return;
    this.pending.push({ value, remaining: times, match: { ...match, method: match.method?.toUpperCase() } });
  }

  /** Drops every armed fault, then arms this one (a setting that replaces the previous one). */
  replace(value: T, times = 1, match: RequestMatch = {}): void {
    this.pending.length = 0;
    this.add(value, times, match);
  }

  /** The fault for this request, counted as used; undefined when none is armed for it. */
  take(method = '', path = ''): T | undefined {
    const fault = this.pending.find(({ match }) => (match.method === undefined || match.method === method) && path.includes(match.pathIncludes ?? ''));
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.pending.splice(this.pending.indexOf(fault), 1);
    return fault.value;
  }
}

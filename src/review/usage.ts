// Last use of every grant (issue 24), in memory. decide() already names what allowed a request
// (a binding, or the user alone for a superuser, a project role or a default role); the
// authorization path calls record() with that, and record() only overwrites a slot of a typed
// array found through a Map lookup by name: no object, string or closure is made per request, so
// the webhook's throughput and p99 stay as they were (bench:webhook measures both, same run).
// A name seen for the first time takes a slot once; the arrays double when full.
import type { Decision } from '../authz/types.js';

/** Observations as plain data: name -> ms since the epoch. What replicas exchange (usage-lease.ts). */
export interface UsageSnapshot {
  bindings: Record<string, number>;
  users: Record<string, number>;
}

/** One kind's names and times: a Map name -> slot, and a Float64Array slot -> ms (0 = never). */
class Slots {
  private readonly slotOf = new Map<string, number>();
  private names: string[] = [];
  private times = new Float64Array(64);

  touch(name: string, now: number): void {
    let slot = this.slotOf.get(name);
    if (slot === undefined) slot = this.add(name);
    // Requests are answered concurrently with clocks read at slightly different moments: keep the later.
    if (now > this.times[slot]!) this.times[slot] = now;
  }

  private add(name: string): number {
    const slot = this.names.length;
    if (slot === this.times.length) {
      const bigger = new Float64Array(this.times.length * 2);
      bigger.set(this.times);
      this.times = bigger;
    }
    this.names.push(name);
    this.slotOf.set(name, slot);
    return slot;
  }

  get(name: string): number | undefined {
    const slot = this.slotOf.get(name);
    const t = slot === undefined ? 0 : this.times[slot]!;
    return t > 0 ? t : undefined;
  }

  get size(): number {
    return this.names.length;
  }

  toObject(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 0; i < this.names.length; i++) if (this.times[i]! > 0) out[this.names[i]!] = this.times[i]!;
    return out;
  }
}

export class UsageRecorder {
  private readonly bindings = new Slots();
  private readonly users = new Slots();
  /** How many allows were recorded (a counter, for the metrics and the bench). */
  recorded = 0;

  /**
   * An answer decide() gave for `username` at `now`; only allows count. A binding allow counts for
   * the binding and the user; the other allows (superuser, project roles, defaults, `me`,
   * delegated administration through a binding) count for the user, and for the binding when one
   * is named. Registration allows are for people without a User and count for nothing.
   */
  record(decision: Decision, username: string, now: number): void {
    if (decision.verdict !== 'allow' || decision.code === 'registration') return;
    this.recorded++;
    this.users.touch(username, now);
    const binding = decision.grant?.binding;
    if (binding !== undefined) this.bindings.touch(binding, now);
  }

  bindingLastUsed(name: string): number | undefined {
    return this.bindings.get(name);
  }

  userLastUsed(username: string): number | undefined {
    return this.users.get(username);
  }

  snapshot(): UsageSnapshot {
    return { bindings: this.bindings.toObject(), users: this.users.toObject() };
  }

  get sizes(): { bindings: number; users: number } {
    return { bindings: this.bindings.size, users: this.users.size };
  }
}

/** The later time per name over several replicas' snapshots. */
export function mergeSnapshots(snaps: readonly UsageSnapshot[]): UsageSnapshot {
  const out: UsageSnapshot = { bindings: {}, users: {} };
  for (const s of snaps) {
    for (const [k, v] of Object.entries(s.bindings)) if (!(out.bindings[k]! >= v)) out.bindings[k] = v;
    for (const [k, v] of Object.entries(s.users)) if (!(out.users[k]! >= v)) out.users[k] = v;
  }
  return out;
}

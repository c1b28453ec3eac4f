// An inverted index from (resource key, group, verb) to the set of roles granting it, as bitsets
// over small role ids, plus a cache of the combined bitset per request shape. decide() then tests
// a candidate binding's role with one bit instead of walking the role's matcher: the work per
// candidate stops depending on how big roles are. resourceNames-limited grants, non-resource URLs
// and `me` are not in here; those stay with each role's RoleMatcher.
import { isExplicitVerb, type PermissionAtom } from './permission.js';
import { atomKey } from './matcher.js';

const ANY = '*';
/** Distinct request shapes are few (verbs x resources); past this many, start over. */
const CACHE_LIMIT = 8192;

export interface TargetShape {
  readonly verb: string;
  readonly group: string;
  readonly resource: string;
  readonly subresource: string | undefined;
  readonly keys: readonly string[];
}

export class GrantBits {
  private words = 32;
  private readonly inv = new Map<string, Map<string, Map<string, Uint32Array>>>();
  private cache = new Map<string, Uint32Array>();

  /** Sets (on) or clears (off) role `id`'s bits for the unnamed resource atoms given. */
  setRole(id: number, atoms: Iterable<PermissionAtom>, on: boolean): void {
    if (on && id >= this.words * 32) this.grow(id);
    this.cache.clear();
    const word = id >>> 5;
    const bit = 1 << (id & 31);
    for (const a of atoms) {
      if (a.kind !== 'resource' || a.names !== null) continue;
      const rk = atomKey(a.resource, a.subresource);
      let byGroup = this.inv.get(rk);
      if (!byGroup) {
        if (!on) continue;
        this.inv.set(rk, (byGroup = new Map()));
      }
      const g = a.group ?? ANY;
      let byVerb = byGroup.get(g);
      if (!byVerb) {
        if (!on) continue;
        byGroup.set(g, (byVerb = new Map()));
      }
      for (const v of a.verbs ?? [ANY]) {
        let bits = byVerb.get(v);
        if (!bits) {
          if (!on) continue;
          byVerb.set(v, (bits = new Uint32Array(this.words)));
        }
        if (on) bits[word]! |= bit;
        else bits[word]! &= ~bit;
      }
    }
  }

  private grow(id: number): void {
    let words = this.words;
    while (id >= words * 32) words *= 2;
    for (const byGroup of this.inv.values()) {
      for (const byVerb of byGroup.values()) {
        for (const [v, bits] of byVerb) {
          const bigger = new Uint32Array(words);
          bigger.set(bits);
          byVerb.set(v, bigger);
        }
      }
    }
    this.words = words;
  }

  /** The roles (as a bitset) whose unnamed resource grants allow the request shape. */
  bitsFor(t: TargetShape): Uint32Array {
    const key = `${t.verb}\u0000${t.group}\u0000${t.resource}\u0000${t.subresource ?? ''}`;
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    const out = new Uint32Array(this.words);
    // A verb a `*` action never reaches (EXPLICIT_VERBS) is found only under its own name.
    const verbNamed = isExplicitVerb(t.verb, t.group, t.resource);
    for (const rk of t.keys) {
      const byGroup = this.inv.get(rk);
      if (byGroup === undefined) continue;
      this.orInto(out, byGroup.get(t.group), t.verb, verbNamed);
      this.orInto(out, byGroup.get(ANY), t.verb, verbNamed);
    }
    if (this.cache.size >= CACHE_LIMIT) this.cache = new Map();
    this.cache.set(key, out);
    return out;
  }

  private orInto(out: Uint32Array, byVerb: Map<string, Uint32Array> | undefined, verb: string, verbNamed: boolean): void {
    if (byVerb === undefined) return;
    for (const bits of verbNamed ? [byVerb.get(verb)] : [byVerb.get(verb), byVerb.get(ANY)]) {
      if (bits === undefined) continue;
      for (let i = 0; i < bits.length; i++) out[i]! |= bits[i]!;
    }
  }

  static has(bits: Uint32Array, id: number): boolean {
    return ((bits[id >>> 5] ?? 0) & (1 << (id & 31))) !== 0;
  }

  /** Non-empty entries as `rk group verb -> role ids`, for the index's snapshot. */
  entries(): [string, number[]][] {
    const out: [string, number[]][] = [];
    for (const [rk, byGroup] of this.inv) {
      for (const [g, byVerb] of byGroup) {
        for (const [v, bits] of byVerb) {
          const ids: number[] = [];
          for (let i = 0; i < bits.length * 32; i++) if (GrantBits.has(bits, i)) ids.push(i);
          if (ids.length > 0) out.push([`${rk} ${g} ${v}`, ids]);
        }
      }
    }
    return out;
  }
}

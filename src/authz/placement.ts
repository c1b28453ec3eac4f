// Where each compiled binding is filed, so a request touches only bindings that can cover it and
// status finds what depends on a change without scanning: by subject id (every binding naming the
// subject), by scope and subject id (cluster-scoped ones by subject; namespace-scoped ones in the
// namespace's NamespaceFast; team-scoped ones by scope team), and by role. A binding without
// subjects is filed under NO_SUBJECT, which no request carries, so it is found by scope and grants
// nothing. Bindings with an expiresAt are also kept apart, so nextExpiry() scans only those.
import type { CompiledBinding } from './index-types.js';
import type { Memberships } from './memberships.js';
import { addAt, addTo, EMPTY, removeAt, removeFrom } from './multimap.js';
import { NO_SUBJECT, type SubjectIds } from './subject-ids.js';

export class BindingPlacement {
  private readonly bindings = new Map<string, CompiledBinding>();
  /** The compiled bindings, by name (read-only outside). */
  readonly byName: ReadonlyMap<string, CompiledBinding> = this.bindings;
  /** subject id -> bindings naming it, whatever their scope. */
  private readonly bySubjectId: (Set<CompiledBinding> | undefined)[];
  /** subject id -> cluster-scoped bindings naming it. */
  private readonly clusterById: (Set<CompiledBinding> | undefined)[];
  /** team id -> subject id -> bindings whose teams scope lists the team. */
  private readonly teamScopeById: (Map<number, Set<CompiledBinding>> | undefined)[];
  /** role name -> names of the bindings granting it. */
  private readonly byRole = new Map<string, Set<string>>();
  /** Bindings with an expiresAt (nextExpiry looks at these only). */
  private readonly expiring = new Set<CompiledBinding>();

  constructor(
    private readonly ids: SubjectIds,
    private readonly memberships: Memberships,
  ) {
    this.bySubjectId = ids.array();
    this.clusterById = ids.array();
    this.teamScopeById = ids.array();
  }

  add(cb: CompiledBinding): void {
    this.remove(cb.name);
    this.bindings.set(cb.name, cb);
    for (const id of cb.subjectIds) addAt(this.bySubjectId, id, cb);
    this.placeByScope(cb, true);
    addTo(this.byRole, cb.role, cb.name);
    if (cb.expiresAt !== null) this.expiring.add(cb);
  }

  remove(name: string): void {
    const old = this.bindings.get(name);
    if (!old) return;
    this.bindings.delete(name);
    for (const id of old.subjectIds) removeAt(this.bySubjectId, id, old);
    this.placeByScope(old, false);
    removeFrom(this.byRole, old.role, name);
    this.expiring.delete(old);
    // The binding's subject ids were taken when it was compiled (index.ts compileBinding).
    for (const id of old.subjectIds) this.ids.release(id);
  }

  private placeByScope(cb: CompiledBinding, add: boolean): void {
    const op = add ? addTo : removeFrom;
    const ids = cb.subjectIds.length > 0 ? cb.subjectIds : [NO_SUBJECT];
    if (cb.scope.kind === 'cluster') {
      for (const id of ids) (add ? addAt : removeAt)(this.clusterById, id, cb);
    } else if (cb.scope.kind === 'namespaces') {
      for (const ns of cb.scope.namespaces) {
        const f = add ? this.memberships.fastFor(ns) : this.memberships.namespaceFast(ns);
        if (!f) continue;
        const inner = (f.bySubject ??= new Map());
        for (const id of ids) op(inner, id, cb);
        if (inner.size === 0) f.bySubject = undefined;
        this.memberships.tidy(ns, f);
      }
    } else {
      // Each scope team's id is held while the binding is placed (taken on add, given back on remove).
      for (const team of cb.scope.teams) {
        const tid = add ? this.ids.acquire('Team', team) : this.ids.find('Team', team);
        if (tid === undefined) continue;
        let inner = this.teamScopeById[tid];
        if (!inner && add) this.teamScopeById[tid] = inner = new Map();
        if (inner) {
          for (const id of ids) op(inner, id, cb);
          if (inner.size === 0) this.teamScopeById[tid] = undefined;
        }
        if (!add) this.ids.release(tid);
      }
    }
  }

  /** Bindings naming the subject (by id), whatever their scope. */
  forSubjectId(id: number | undefined): ReadonlySet<CompiledBinding> {
    return (id === undefined ? undefined : this.bySubjectId[id]) ?? EMPTY;
  }
  /** decide()'s fast path: cluster-scoped bindings naming the subject. */
  clusterFor(id: number): ReadonlySet<CompiledBinding> | undefined {
    return this.clusterById[id];
  }
  /** decide()'s fast path: bindings whose teams scope lists the team, by subject id. */
  teamScope(teamId: number): ReadonlyMap<number, ReadonlySet<CompiledBinding>> | undefined {
    return this.teamScopeById[teamId];
  }
  /** Names of the bindings whose teams scope lists the team, with or without subjects. */
  scopedToTeam(team: string): Set<string> {
    const out = new Set<string>();
    const tid = this.ids.find('Team', team);
    const inner = tid === undefined ? undefined : this.teamScopeById[tid];
    if (inner) for (const set of inner.values()) for (const b of set) out.add(b.name);
    return out;
  }
  forRole(role: string): ReadonlySet<string> {
    return this.byRole.get(role) ?? EMPTY;
  }

  /** The earliest expiresAt after `now`, or null. */
  nextExpiry(now: number): number | null {
    let best: number | null = null;
    for (const b of this.expiring) {
      const t = b.expiresAt;
      if (t !== null && t > now && (best === null || t < best)) best = t;
    }
    return best;
  }
}

// The RBAC compiler: from the permission index (through RbacSource) to the native RBAC objects
// that let the API server's own RBAC authorizer allow what decide() allows. Pure: no I/O, the
// clock is a parameter. The applier (src/controller/rbac-applier.ts) diffs the result against the
// cluster; this module never sees the cluster.
//
// Incremental: the objects come from units (units.ts: one per Role, RoleBinding and namespace,
// and three global ones), and a unit reads the world only through named queries ("users named
// alice", "namespaces of team ml", "every eligible user"). The compiler remembers each query's
// answer as text and which units read it; each update() asks again the remembered queries about
// kinds that moved (the source counts changes per kind; the clock moves bindings only when it
// passes an expiry) and recompiles only the units whose answers changed, plus units for new or
// vanished sources. So a
// new RoleBinding costs its own unit and the queries (11 ms p50 at 10,000 bindings), not a
// compile of the world (0.8-0.9 s there; `npm run bench:rbac -- --compile-only`). The result
// equals a fresh compile (a property test checks it after every step of random change sequences).
//
// What decide() grants and where it goes:
//   Role R                      -> ClusterRole gatehouse:role:R (includes flattened)
//   live RoleBinding B, cluster -> ClusterRoleBinding gatehouse:binding:B
//   live RoleBinding B, scoped  -> RoleBinding gatehouse:binding:B in each namespace the scope covers
//   superusers                  -> ClusterRoleBinding gatehouse:superusers (ClusterRole gatehouse:superuser)
//   projects.ownerRole          -> RoleBinding gatehouse:project-owner in each owned namespace
//   projects.publicRole         -> RoleBinding gatehouse:public in each public namespace
//   defaults {role, team}       -> RoleBinding gatehouse:default in each of the team's namespaces
//   writes on Gatehouse's kinds held in some scope (delegated administration, approval)
//                               -> ClusterRole gatehouse:delegate:R + ClusterRoleBindings gatehouse:delegate:B,
//                                  gatehouse:project-owners:delegate, gatehouse:public:delegate, gatehouse:default:delegate
// No two sources can produce one name: Gatehouse object names never contain ':' or '~'.
// Only Active users appear in subject lists; expired bindings compile to nothing.
import { createHash } from 'node:crypto';
import { formatAtom } from '../authz/permission.js';
import { isLive } from '../authz/rules.js';
import { DEFAULT_MAX_SUBJECTS, keyOf, type RbacObject, type RbacSubject } from './objects.js';
import type { RbacBinding, RbacNamespace, RbacRole, RbacSource } from './source.js';
import type { IndexedKind } from '../authz/index.js';
import { BUILTIN_GROUPS } from './rules.js';
import {
  bindingUnit, defaultUnit, delegatesUnit, grantsTo, namespaceUnit, roleKindOf, roleUnit, SubjectPool, subjectList, superusersUnit,
  UnitOutput, type UnitBinding, type UnitReads,
} from './units.js';

export interface DesiredRbac {
  /** By objectKey(). */
  readonly objects: ReadonlyMap<string, RbacObject>;
  /** The earliest expiresAt after `now` of a binding that grants now (the applier's timer). */
  readonly nextExpiry: number | null;
  /** Per username: how many binding objects name them. */
  readonly subjectCounts: ReadonlyMap<string, number>;
}

export interface CompileOptions {
  now: number;
  maxSubjects?: number;
  /** The API groups the cluster serves (discovery); a group-less wildcard is written over them (rules.ts atomRules). */
  apiGroups?: readonly string[];
}

export interface CompileUpdate extends DesiredRbac {
  /** Object keys whose desired object may have changed (written, rewritten or gone) in this update. */
  readonly changed: ReadonlySet<string>;
  /** Usernames whose subjectCounts entry changed. */
  readonly countsChanged: readonly string[];
  /** Units recompiled in this update (for logs and the bench). */
  readonly recompiled: number;
}

/** A fresh compile of the whole world (tests, explain). */
export function compileRbac(src: RbacSource, opts: CompileOptions): DesiredRbac {
  return new RbacCompiler(opts.maxSubjects).update(src, opts);
}

interface Unit {
  /** Each query once. An array, not a Set: tens of thousands of units each read a few (memory, issue 26). */
  readonly queries: readonly string[];
  readonly objects: readonly RbacObject[];
}

interface Answer {
  readonly value: unknown;
  readonly text: string;
}

type Kind = IndexedKind | 'time' | 'discovery';

// Query keys: one letter for the question, then its argument; and the kinds whose change can
// change the answer (`time`: a binding's expiry passed; `discovery`: the served API groups).
const Q = {
  role: 'R', roleKind: 'K', otherGroups: 'G', binding: 'B', usersNamed: 'U', team: 'T', namespaceExists: 'X', project: 'P',
  teamNamespaces: 'M', scopeNamespaces: 'N', everyone: 'E', superusers: 'S', owners: 'O', anyPublic: 'A',
} as const;
const DEPENDS: Readonly<Record<string, readonly Kind[]>> = {
  R: ['Role'], K: ['Role'], G: ['Role', 'discovery'], B: ['RoleBinding', 'time'], U: ['User'], T: ['Team'], X: ['Namespace'], P: ['Namespace'],
  M: ['Namespace', 'Team'], N: ['Namespace', 'Team'], E: ['User'], S: ['User'], O: ['Namespace', 'User'], A: ['Namespace'],
};
const KINDS: readonly IndexedKind[] = ['User', 'Role', 'Team', 'RoleBinding', 'Namespace'];

const GLOBAL_UNITS = ['superusers', 'default', 'delegates'] as const;

/** What one update saw, kept for the next: the index's versions, the clock, and the answers about
 * the sources that are units (by name), which stay valid while their kind does not move. */
interface Seen {
  readonly versions: ReadonlyMap<IndexedKind, number>;
  readonly now: number;
  readonly apiGroups: string;
  readonly nextExpiry: number | null;
  readonly roles: ReadonlyMap<string, Answer>;
  readonly bindings: ReadonlyMap<string, BindingSeen>;
  readonly namespaces: ReadonlyMap<string, Answer>;
  /** Per namespace: the teams whose scope covers it (label or spec.namespaces). */
  readonly namespaceTeams: ReadonlyMap<string, readonly string[]>;
}

/** A binding's answer and what it was made from: the same inputs (by identity) give the same answer. */
interface BindingSeen {
  readonly answer: Answer;
  readonly from: RbacBinding;
}

/** Keeps the desired objects of one world across updates; see the top of this file. */
export class RbacCompiler {
  private readonly maxSubjects: number;
  private readonly units = new Map<string, Unit>();
  /** Per question letter: query -> the units that read it (one unit as a bare string: most queries have one reader). */
  private readonly readers = new Map<string, Map<string, Readers>>();
  /** Query -> its answer when last checked (only queries some unit read). */
  private readonly answers = new Map<string, Answer>();
  private readonly objectMap = new Map<string, RbacObject>();
  private readonly counts = new Map<string, number>();
  private seen: Seen | null = null;
  /** The subject objects shared by the desired objects' lists. */
  private readonly pool = new SubjectPool();

  constructor(maxSubjects: number = DEFAULT_MAX_SUBJECTS) {
    this.maxSubjects = Math.max(1, maxSubjects);
  }

  /** The desired objects as of the last update, by objectKey(). */
  get objects(): ReadonlyMap<string, RbacObject> {
    return this.objectMap;
  }

  /** Per username: how many desired binding objects name them. */
  get subjectCounts(): ReadonlyMap<string, number> {
    return this.counts;
  }

  update(src: RbacSource, opts: Omit<CompileOptions, 'maxSubjects'>): CompileUpdate {
    const { now } = opts;
    const apiGroups = opts.apiGroups ?? [];
    const last = this.seen;
    const moved = new Set<Kind>();
    const versions = new Map<IndexedKind, number>();
    for (const k of KINDS) {
      versions.set(k, src.version(k));
      if (last === null || last.versions.get(k) !== versions.get(k)) moved.add(k);
    }
    // Liveness changes only when the clock passes an expiry (or goes back).
    if (last === null || now < last.now || (last.nextExpiry !== null && now >= last.nextExpiry)) moved.add('time');
    if (last === null || last.apiGroups !== apiGroups.join(',')) moved.add('discovery');
    // A Namespace event: the index names the namespaces that changed, so only questions about them
    // (and about their teams' namespace lists) are asked again, not every namespace's and team's.
    let nsChanged: ReadonlySet<string> | null = null;
    if (last !== null && moved.has('Namespace') && src.namespacesChangedSince) {
      const list = src.namespacesChangedSince(last.versions.get('Namespace')!);
      if (list !== undefined) nsChanged = new Set(list);
    }
    const pass = new Pass(src, now, apiGroups, moved, this.answers, last, nsChanged, this.pool);
    const narrowed = (letter: string): string[] | null => {
      if (nsChanged === null) return null;
      const why = DEPENDS[letter]!.filter((k) => moved.has(k));
      if (why.length !== 1 || why[0] !== 'Namespace') return null;
      if (letter === Q.namespaceExists || letter === Q.project) return [...nsChanged].map((n) => query(letter, n));
      if (letter === Q.teamNamespaces) return [...pass.teamsOf(nsChanged, last)].map((t) => query(letter, t));
      if (letter === Q.scopeNamespaces && src.teamAncestorsOrSelf) {
        // The tree has not moved (only Namespace did), so a changed namespace's team reaches the
        // subtree scopes of exactly its ancestors.
        const scopes = new Set<string>();
        for (const t of pass.teamsOf(nsChanged, last)) for (const a of src.teamAncestorsOrSelf(t)) scopes.add(a);
        return [...scopes].map((t) => query(letter, t));
      }
      return null;
    };
    const dirty = new Set<string>();
    for (const [letter, family] of this.readers) {
      if (!DEPENDS[letter]!.some((k) => moved.has(k))) continue;
      const only = narrowed(letter);
      const queries: Iterable<[string, Readers]> = only === null ? family : only.flatMap((q): Array<[string, Readers]> => (family.has(q) ? [[q, family.get(q)!]] : []));
      for (const [q, units] of queries) {
        const answer = pass.answer(q);
        if (answer.text === this.answers.get(q)?.text) continue;
        this.answers.set(q, answer);
        if (typeof units === 'string') dirty.add(units);
        else for (const u of units) dirty.add(u);
      }
    }
    const changed = new Set<string>();
    const touched = new Map<string, number>();
    const gone = new Set<string>();
    if (last === null) for (const u of GLOBAL_UNITS) dirty.add(u);
    for (const [prefix, before, after] of pass.sources(last)) {
      for (const name of after.keys()) if (!before.has(name)) dirty.add(query(prefix, name));
      for (const name of before.keys()) if (!after.has(name)) gone.add(query(prefix, name));
    }
    for (const u of gone) this.replace(u, null, changed, touched);
    for (const u of dirty) {
      if (gone.has(u)) continue;
      const unit = pass.run(u, this.maxSubjects);
      this.replace(u, unit, changed, touched);
      // The answers this unit was compiled with are what the next update compares against.
      for (const q of unit.queries) if (!this.answers.has(q)) this.answers.set(q, pass.answer(q));
    }
    const countsChanged: string[] = [];
    for (const [name, before] of touched) if ((this.counts.get(name) ?? 0) !== before) countsChanged.push(name);
    this.seen = pass.seen(versions);
    // Users named in some list, plus room for groups: a pool far past that holds names gone from the world.
    this.pool.trim(2 * this.counts.size + 4096);
    return { objects: this.objectMap, nextExpiry: this.seen.nextExpiry, subjectCounts: this.counts, changed, countsChanged, recompiled: dirty.size };
  }

  private replace(key: string, unit: Unit | null, changed: Set<string>, touched: Map<string, number>): void {
    const count = (objects: readonly RbacObject[], by: number): void => {
      for (const o of objects) {
        if (o.kind === 'ClusterRole') continue;
        for (const s of o.subjects) {
          if (s.kind !== 'User') continue;
          if (!touched.has(s.name)) touched.set(s.name, this.counts.get(s.name) ?? 0);
          const n = (this.counts.get(s.name) ?? 0) + by;
          if (n === 0) this.counts.delete(s.name);
          else this.counts.set(s.name, n);
        }
      }
    };
    const old = this.units.get(key);
    if (old) {
      for (const o of old.objects) {
        const k = keyOf(o);
        changed.add(k);
        this.objectMap.delete(k);
      }
      count(old.objects, -1);
      for (const q of old.queries) {
        const family = this.readers.get(q[0]!)!;
        const set = family.get(q)!;
        if (typeof set !== 'string') set.delete(key);
        if (typeof set === 'string' || set.size === 0) {
          family.delete(q);
          this.answers.delete(q);
        } else if (set.size === 1) {
          family.set(q, set.values().next().value!);
        }
      }
      this.units.delete(key);
    }
    if (unit === null) return;
    this.units.set(key, unit);
    for (const o of unit.objects) {
      const k = keyOf(o);
      changed.add(k);
      this.objectMap.set(k, o);
    }
    count(unit.objects, +1);
    for (const q of unit.queries) {
      let family = this.readers.get(q[0]!);
      if (!family) this.readers.set(q[0]!, (family = new Map()));
      const set = family.get(q);
      if (set === undefined) family.set(q, key);
      else if (typeof set !== 'string') set.add(key);
      else if (set !== key) family.set(q, new Set([set, key]));
    }
  }
}

/**
 * One update's view of the source: an answer about kinds that did not move is the remembered one;
 * any other is computed at most once, at one clock reading. The sources that are units (Roles,
 * RoleBindings, namespaces) are listed again only when their kind moved.
 */
class Pass {
  private readonly memo = new Map<string, Answer>();
  private readonly roles: ReadonlyMap<string, Answer>;
  private readonly bindings: ReadonlyMap<string, BindingSeen>;
  private readonly namespaces: ReadonlyMap<string, Answer>;
  private readonly namespaceTeams: ReadonlyMap<string, readonly string[]>;
  private readonly nextExpiry: number | null;

  constructor(
    private readonly src: RbacSource,
    private readonly now: number,
    private readonly apiGroups: readonly string[],
    private readonly moved: ReadonlySet<Kind>,
    private readonly remembered: ReadonlyMap<string, Answer>,
    last: Seen | null,
    nsChanged: ReadonlySet<string> | null,
    private readonly pool: SubjectPool,
  ) {
    // A listing is taken again only when its kind moved; otherwise the last one still holds.
    const relist = (kinds: readonly Kind[]): boolean => last === null || kinds.some((k) => moved.has(k));
    this.roles = relist(['Role']) ? new Map([...src.roles()].map((r) => [r.name, roleAnswer(r)])) : last!.roles;
    if (!relist(['Namespace'])) {
      this.namespaces = last!.namespaces;
      this.namespaceTeams = last!.namespaceTeams;
    } else if (last !== null && nsChanged !== null) {
      // Only the namespaces the index says changed are read again.
      const namespaces = new Map(last.namespaces);
      const teams = new Map(last.namespaceTeams);
      for (const name of nsChanged) {
        const ns = src.namespace(name);
        if (ns === undefined) {
          namespaces.delete(name);
          teams.delete(name);
        } else {
          namespaces.set(name, projectAnswer(ns));
          teams.set(name, ns.teams);
        }
      }
      this.namespaces = namespaces;
      this.namespaceTeams = teams;
    } else {
      const namespaces = new Map<string, Answer>();
      const teams = new Map<string, readonly string[]>();
      for (const ns of src.namespaces()) {
        namespaces.set(ns.name, projectAnswer(ns));
        teams.set(ns.name, ns.teams);
      }
      this.namespaces = namespaces;
      this.namespaceTeams = teams;
    }
    if (!relist(['RoleBinding', 'time'])) {
      this.bindings = last!.bindings;
      this.nextExpiry = last!.nextExpiry;
      return;
    }
    const bindings = new Map<string, BindingSeen>();
    let nextExpiry: number | null = null;
    for (const b of src.bindings()) {
      const before = last?.bindings.get(b.name);
      const live = isLive(b, now);
      // Unchanged inputs (the index keeps a binding's subjects and scope until it changes): same answer.
      const same = before !== undefined && before.from.subjects === b.subjects && before.from.scope === b.scope && before.from.role === b.role && before.from.expiresAt === b.expiresAt && (before.answer.value as UnitBinding).live === live;
      bindings.set(b.name, same ? before : { answer: bindingAnswer(b, live), from: b });
      if (live && b.expiresAt !== null && (nextExpiry === null || b.expiresAt < nextExpiry)) nextExpiry = b.expiresAt;
    }
    this.bindings = bindings;
    this.nextExpiry = nextExpiry;
  }

  seen(versions: ReadonlyMap<IndexedKind, number>): Seen {
    return { versions, now: this.now, apiGroups: this.apiGroups.join(','), nextExpiry: this.nextExpiry, roles: this.roles, bindings: this.bindings, namespaces: this.namespaces, namespaceTeams: this.namespaceTeams };
  }

  /** The teams covering any of these namespaces, before or now (their namespace lists may have changed). */
  teamsOf(names: ReadonlySet<string>, last: Seen | null): Set<string> {
    const out = new Set<string>();
    for (const n of names) {
      for (const t of last?.namespaceTeams.get(n) ?? []) out.add(t);
      for (const t of this.namespaceTeams.get(n) ?? []) out.add(t);
    }
    return out;
  }

  /** The sources that are units, before and now, with their unit-key prefixes. */
  sources(last: Seen | null): Array<[string, ReadonlyMap<string, unknown>, ReadonlyMap<string, unknown>]> {
    const none = new Map<string, unknown>();
    return [
      ['role:', last?.roles ?? none, this.roles],
      ['binding:', last?.bindings ?? none, this.bindings],
      ['ns:', last?.namespaces ?? none, this.namespaces],
    ];
  }

  /** Compiles one unit, recording every query it reads. */
  run(key: string, maxSubjects: number): Unit {
    const queries = new Set<string>();
    const ask = <T>(q: string): T => {
      queries.add(q);
      return this.answer(q).value as T;
    };
    const reads: UnitReads = {
      config: this.src.config,
      role: (name) => ask(query(Q.role, name)),
      roleKind: (name) => ask(query(Q.roleKind, name)),
      otherGroups: () => ask(Q.otherGroups),
      binding: (name) => ask(query(Q.binding, name)),
      usersNamed: (name) => ask(query(Q.usersNamed, name)),
      team: (name) => ask(query(Q.team, name)),
      namespaceExists: (name) => ask(query(Q.namespaceExists, name)),
      project: (name) => ask(query(Q.project, name)),
      teamNamespaces: (team) => ask(query(Q.teamNamespaces, team)),
      scopeNamespaces: (team) => ask(query(Q.scopeNamespaces, team)),
      everyone: () => ask(Q.everyone),
      superusers: () => ask(Q.superusers),
      owners: () => ask(Q.owners),
      anyPublic: () => ask(Q.anyPublic),
    };
    const out = new UnitOutput(maxSubjects, this.pool);
    const colon = key.indexOf(':');
    const kind = colon < 0 ? key : key.slice(0, colon);
    const name = key.slice(colon + 1);
    if (kind === 'role') roleUnit(reads, out, name);
    else if (kind === 'binding') bindingUnit(reads, out, name);
    else if (kind === 'ns') namespaceUnit(reads, out, name);
    else if (kind === 'superusers') superusersUnit(reads, out);
    else if (kind === 'default') defaultUnit(reads, out);
    else delegatesUnit(reads, out);
    return { queries: [...queries], objects: out.objects };
  }

  answer(q: string): Answer {
    // The sources that are units are answered from this update's listing (or the last, when unmoved).
    switch (q[0]) {
      case Q.role:
        return this.roles.get(q.slice(1)) ?? ABSENT;
      case Q.binding:
        return this.bindings.get(q.slice(1))?.answer ?? ABSENT;
      case Q.project:
        return this.namespaces.get(q.slice(1)) ?? ABSENT;
      case Q.namespaceExists:
        return this.namespaces.has(q.slice(1)) ? EXISTS : ABSENT;
    }
    let a = this.memo.get(q);
    if (a !== undefined) return a;
    if (!DEPENDS[q[0]!]!.some((k) => this.moved.has(k))) a = this.remembered.get(q);
    if (a === undefined) a = this.compute(q[0]!, q.slice(1));
    this.memo.set(q, a);
    return a;
  }

  private compute(kind: string, arg: string): Answer {
    const src = this.src;
    switch (kind) {
      case Q.roleKind: {
        const k = roleKindOf(this.answer(Q.role + arg).value as RbacRole | undefined);
        return text(k, k);
      }
      case Q.otherGroups: {
        // The groups a group-less wildcard is written over: built-in, served, and every group a Role names.
        const groups = new Set<string>([...BUILTIN_GROUPS, ...this.apiGroups]);
        for (const r of this.roles.values()) {
          for (const a of (r.value as RbacRole).atoms) if (a.kind === 'resource' && a.group !== null) groups.add(a.group);
        }
        const list = [...groups].filter((g) => g !== '').sort();
        return text(list, list.join(','));
      }
      case Q.usersNamed: {
        const names = src.userNamed(arg).filter((u) => grantsTo(src.config, u.username, u.active)).map((u) => u.username);
        return text(names, names.join(','));
      }
      case Q.team: {
        const t = src.team(arg);
        return t === undefined ? ABSENT : text(t, JSON.stringify([t.members, t.groups]));
      }
      case Q.teamNamespaces: {
        const list = src.teamNamespaces(arg);
        return text(list, list.join(','));
      }
      case Q.scopeNamespaces: {
        const list = src.subtreeNamespaces(arg);
        return text(list, list.join(','));
      }
      case Q.everyone: {
        const names: string[] = [];
        for (const u of src.users()) if (grantsTo(src.config, u.username, u.active)) names.push(u.username);
        const list: RbacSubject[] = subjectList(names, [], this.pool);
        return text(list, list.map((s) => s.name).join(','));
      }
      case Q.superusers: {
        const names: string[] = [];
        for (const u of src.users()) if (u.superuser && grantsTo(src.config, u.username, u.active)) names.push(u.username);
        const list = [...new Set(names)].sort();
        return text(list, list.join(','));
      }
      case Q.owners: {
        const owners = new Set<string>();
        for (const ns of this.namespaces.values()) {
          const owner = (ns.value as { owner?: string }).owner;
          if (owner !== undefined) for (const u of this.answer(Q.usersNamed + owner).value as string[]) owners.add(u);
        }
        const list = [...owners].sort();
        return text(list, list.join(','));
      }
      case Q.anyPublic: {
        let any = false;
        for (const ns of this.namespaces.values()) any ||= (ns.value as { isPublic: boolean }).isPublic;
        return text(any, String(any));
      }
      default:
        throw new Error(`unknown RBAC compiler query ${kind}`);
    }
  }
}

/**
 * `prefix + name` as one flat string: a `+` of long strings makes a cons string, which a Map then
 * flattens into a second copy; tens of thousands of query and unit keys are kept (memory, issue 26).
 */
const query = (prefix: string, name: string): string => (prefix.length + name.length < 13 ? prefix + name : [prefix, name].join(''));

/** The units that read one query: one unit's key, or a set of them. */
type Readers = string | Set<string>;

/** Longer answer texts are kept as a digest: the answer to `everyone` is every username (memory, issue 26). */
const DIGEST_ABOVE = 48;
/**
 * An answer with its text for comparison. A text longer than DIGEST_ABOVE is kept as NUL and 128
 * bits of its SHA-256 (no plain text starts with NUL), so two answers compare equal only when their
 * texts are (to a collision of SHA-256, which nobody can make happen).
 */
const text = (value: unknown, t: string): Answer => ({ value, text: t.length > DIGEST_ABOVE ? `\0${createHash('sha256').update(t).digest('base64').slice(0, 22)}` : t });
const ABSENT: Answer = { value: undefined, text: '' };
const EXISTS: Answer = { value: true, text: '1' };

function roleAnswer(role: RbacRole | undefined): Answer {
  return role === undefined ? ABSENT : text(role, `+${role.atoms.map(formatAtom).join(' ')}`);
}

function projectAnswer(ns: RbacNamespace): Answer {
  return text({ owner: ns.owner, isPublic: ns.isPublic }, JSON.stringify([ns.owner ?? null, ns.isPublic]));
}

function bindingAnswer(b: RbacBinding, live: boolean): Answer {
  const scope: UnitBinding['scope'] =
    b.scope.kind === 'cluster' ? { kind: 'cluster' } : b.scope.kind === 'namespaces' ? { kind: 'namespaces', namespaces: [...b.scope.namespaces] } : { kind: 'teams', teams: [...b.scope.teams] };
  const value: UnitBinding = { name: b.name, role: b.role, subjects: b.subjects, scope, live };
  return text(value, JSON.stringify([b.role, b.subjects.map((s) => [s.kind, s.name]), scope, value.live]));
}

// Who is in which team and which namespaces belong to whom: Team and Namespace objects, and the
// facts decide() reads in subject ids (subject-ids.ts). Each fact is stored once, in the form
// decide()'s fast path reads: a member's and a group's team ids, and per namespace its label team,
// the teams listing it, its owner and whether it is public (NamespaceFast). Answers by name are
// derived from those. The reverse lookups (a team's labelled namespaces, an owner's namespaces,
// the public namespaces) are the same facts turned around, kept so listing them scans nothing.
import type { Namespace, Team } from '../api/types.js';
import { namespaceOwner } from '../api/owner.js';
import { LABELS } from '../api/types.js';
import type { NamespaceFast } from './index-types.js';
import { addAt, addTo, EMPTY, removeAt, removeFrom } from './multimap.js';
import type { SubjectIds } from './subject-ids.js';

export class Memberships {
  private readonly teamMap = new Map<string, Team>();
  private readonly namespaceMap = new Map<string, Namespace>();
  /** The stored objects, by name (read-only outside). */
  readonly teams: ReadonlyMap<string, Team> = this.teamMap;
  readonly namespaces: ReadonlyMap<string, Namespace> = this.namespaceMap;
  /**
   * member name -> team ids. User records hold these live sets (no lookup per request), so a set
   * stays while a record holds it (memberHolds) or a team names the member, and goes after both.
   */
  private readonly teamIdsByMember = new Map<string, Set<number>>();
  private readonly memberHolds = new Map<string, number>();
  /** group id -> team ids. */
  private readonly teamIdsOfGroupId: (Set<number> | undefined)[];
  /** namespace -> what decide() needs of it; bySubject is binding placement's (placement.ts). */
  private readonly nsFast = new Map<string, NamespaceFast>();
  /** Reverse lookups: label team -> namespaces, owner -> namespaces, public namespaces. */
  private readonly labelNamespacesByTeam = new Map<string, Set<string>>();
  private readonly namespacesByOwner = new Map<string, Set<string>>();
  private readonly publicNamespaces = new Set<string>();
  /**
   * The tree (spec.parent), by name and by id. An edge is kept whether or not the parent exists
   * (Git order: a child may arrive first), and walks stop at a repeat, so a cycle admission did not
   * see (objects written before the webhook) cannot hang a request. Nothing is derived and cached
   * from the edges: a move of a subtree changes one edge, and every answer below reads it fresh.
   */
  private readonly parentByTeam = new Map<string, string>();
  private readonly childrenByTeam = new Map<string, Set<string>>();
  /** team id -> parent team id (the child holds the parent's id). */
  private readonly parentIdOf: (number | undefined)[];

  constructor(private readonly ids: SubjectIds) {
    this.teamIdsOfGroupId = ids.array();
    this.parentIdOf = ids.array<number>();
  }

  // ---------------------------------------------------------------- changes

  upsertTeam(team: Team): void {
    this.removeTeam(team.metadata.name);
    const name = team.metadata.name;
    this.teamMap.set(name, team);
    // The Team holds its own id and one per group entry until removeTeam() gives them back.
    const id = this.ids.acquire('Team', name);
    for (const m of team.spec.members ?? []) this.memberSet(m).add(id);
    for (const g of team.spec.groups ?? []) addAt(this.teamIdsOfGroupId, this.ids.acquire('Group', g), id);
    for (const ns of team.spec.namespaces ?? []) (this.fastFor(ns).specTeamIds ??= new Set()).add(id);
    const parent = team.spec.parent;
    if (parent !== undefined && parent !== '') {
      this.parentByTeam.set(name, parent);
      addTo(this.childrenByTeam, parent, name);
      this.parentIdOf[id] = this.ids.acquire('Team', parent); // given back in removeTeam
    }
  }

  removeTeam(name: string): void {
    const old = this.teams.get(name);
    if (!old) return;
    this.teamMap.delete(name);
    const id = this.ids.find('Team', name)!;
    for (const m of old.spec.members ?? []) {
      this.teamIdsByMember.get(m)?.delete(id);
      this.pruneMember(m);
    }
    for (const g of old.spec.groups ?? []) {
      const gid = this.ids.find('Group', g)!;
      removeAt(this.teamIdsOfGroupId, gid, id);
      this.ids.release(gid);
    }
    for (const ns of old.spec.namespaces ?? []) {
      const f = this.nsFast.get(ns);
      if (f?.specTeamIds) {
        f.specTeamIds.delete(id);
        if (f.specTeamIds.size === 0) f.specTeamIds = undefined;
        this.tidy(ns, f);
      }
    }
    const parent = this.parentByTeam.get(name);
    if (parent !== undefined) {
      this.parentByTeam.delete(name);
      removeFrom(this.childrenByTeam, parent, name);
      const pid = this.parentIdOf[id];
      this.parentIdOf[id] = undefined;
      if (pid !== undefined) this.ids.release(pid);
    }
    this.ids.release(id);
  }

  upsertNamespace(ns: Namespace): void {
    this.removeNamespace(ns.metadata.name);
    const name = ns.metadata.name;
    this.namespaceMap.set(name, ns);
    const labels = ns.metadata.labels ?? {};
    const team = labels[LABELS.team];
    if (team) {
      addTo(this.labelNamespacesByTeam, team, name);
      this.fastFor(name).labelTeamId = this.ids.acquire('Team', team); // given back in removeNamespace
    }
    // The owner's username: the annotation when it agrees with the (encoded) label, else the label.
    const owner = namespaceOwner(ns.metadata);
    if (owner) {
      addTo(this.namespacesByOwner, owner, name);
      this.fastFor(name).owner = owner;
    }
    if (labels[LABELS.visibility] === 'public') {
      this.publicNamespaces.add(name);
      this.fastFor(name).isPublic = true;
    }
  }

  removeNamespace(name: string): void {
    if (!this.namespaceMap.delete(name)) return;
    const f = this.nsFast.get(name);
    if (!f) return;
    if (f.labelTeamId !== undefined) {
      removeFrom(this.labelNamespacesByTeam, this.ids.name(f.labelTeamId), name);
      this.ids.release(f.labelTeamId);
    }
    if (f.owner !== undefined) removeFrom(this.namespacesByOwner, f.owner, name);
    this.publicNamespaces.delete(name);
    f.labelTeamId = undefined;
    f.owner = undefined;
    f.isPublic = false;
    this.tidy(name, f);
  }

  // ---------------------------------------------------------------- by id (decide()'s fast path)

  /** The live set of team ids naming `member`, held by the caller until releaseMemberTeamIds(member). */
  acquireMemberTeamIds(member: string): ReadonlySet<number> {
    this.memberHolds.set(member, (this.memberHolds.get(member) ?? 0) + 1);
    return this.memberSet(member);
  }
  releaseMemberTeamIds(member: string): void {
    const n = this.memberHolds.get(member) ?? 0;
    if (n <= 1) this.memberHolds.delete(member);
    else this.memberHolds.set(member, n - 1);
    this.pruneMember(member);
  }
  private memberSet(member: string): Set<number> {
    let set = this.teamIdsByMember.get(member);
    if (!set) this.teamIdsByMember.set(member, (set = new Set()));
    return set;
  }
  /** Drops a member's set once no team names the member and no user record holds the set. */
  private pruneMember(member: string): void {
    if (this.teamIdsByMember.get(member)?.size === 0 && !this.memberHolds.has(member)) this.teamIdsByMember.delete(member);
  }
  /** How many member names have a set (tests: create/delete cycles come back to the same count). */
  get memberCount(): number {
    return this.teamIdsByMember.size;
  }
  teamIdsOfGroup(groupId: number): ReadonlySet<number> | undefined {
    return this.teamIdsOfGroupId[groupId];
  }
  namespaceFast(namespace: string): NamespaceFast | undefined {
    return this.nsFast.get(namespace);
  }
  /** The namespace's entry, created empty; tidy() drops it again once nothing is in it. */
  fastFor(ns: string): NamespaceFast {
    let f = this.nsFast.get(ns);
    if (!f) this.nsFast.set(ns, (f = { bySubject: undefined, labelTeamId: undefined, specTeamIds: undefined, owner: undefined, isPublic: false }));
    return f;
  }
  tidy(ns: string, f: NamespaceFast): void {
    if (f.bySubject === undefined && f.labelTeamId === undefined && f.specTeamIds === undefined && f.owner === undefined && !f.isPublic) this.nsFast.delete(ns);
  }

  // ---------------------------------------------------------------- by name (derived)

  private teamNamesOf(ids: Iterable<number> | undefined): Set<string> {
    const out = new Set<string>();
    if (ids) for (const id of ids) out.add(this.ids.name(id));
    return out;
  }
  /** Teams naming `member` in spec.members. */
  teamsOfMember(member: string): Set<string> {
    return this.teamNamesOf(this.teamIdsByMember.get(member));
  }
  /** Teams listing `group` in spec.groups. */
  teamsOfGroup(group: string): Set<string> {
    const gid = this.ids.find('Group', group);
    return this.teamNamesOf(gid === undefined ? undefined : this.teamIdsOfGroupId[gid]);
  }
  /** The namespace's iam.gatehouse.dev/team label. */
  namespaceLabelTeam(namespace: string): string | undefined {
    const id = this.nsFast.get(namespace)?.labelTeamId;
    return id === undefined ? undefined : this.ids.name(id);
  }
  /** The teams listing the namespace in spec.namespaces. */
  namespaceSpecTeams(namespace: string): ReadonlySet<string> | undefined {
    const ids = this.nsFast.get(namespace)?.specTeamIds;
    return ids === undefined ? undefined : this.teamNamesOf(ids);
  }
  /** A team's namespaces: spec.namespaces plus namespaces labelled iam.gatehouse.dev/team=<team>. */
  teamNamespaces(team: string): Set<string> {
    const out = new Set<string>(this.teams.get(team)?.spec.namespaces ?? []);
    for (const ns of this.labelNamespacesByTeam.get(team) ?? EMPTY) out.add(ns);
    return out;
  }
  /** Whether `namespace` belongs to `team` (either way). */
  teamOwnsNamespace(team: string, namespace: string): boolean {
    const tid = this.ids.find('Team', team);
    const f = this.nsFast.get(namespace);
    return tid !== undefined && f !== undefined && (f.labelTeamId === tid || (f.specTeamIds?.has(tid) ?? false));
  }
  /** Teams a namespace belongs to. */
  namespaceTeams(namespace: string): Set<string> {
    const f = this.nsFast.get(namespace);
    const out = this.teamNamesOf(f?.specTeamIds);
    if (f?.labelTeamId !== undefined) out.add(this.ids.name(f.labelTeamId));
    return out;
  }
  /**
   * Whether the namespace lies in the scope of one of `teams`: it belongs (either way) to one of
   * them or to a team below one of them. Without building a set.
   */
  namespaceInTeams(namespace: string, teams: ReadonlySet<string>): boolean {
    return this.scopeTeamOf(namespace, teams) !== undefined;
  }
  /** The team of `teams` whose scope covers the namespace (the owning team or its nearest ancestor in `teams`). */
  scopeTeamOf(namespace: string, teams: ReadonlySet<string>): string | undefined {
    const f = this.nsFast.get(namespace);
    if (f === undefined) return undefined;
    const hit = (id: number): string | undefined => {
      for (const tid of this.ancestorIdsOrSelf(id)) {
        const n = this.ids.name(tid);
        if (teams.has(n)) return n;
      }
      return undefined;
    };
    if (f.labelTeamId !== undefined) {
      const t = hit(f.labelTeamId);
      if (t !== undefined) return t;
    }
    if (f.specTeamIds !== undefined) {
      for (const id of f.specTeamIds) {
        const t = hit(id);
        if (t !== undefined) return t;
      }
    }
    return undefined;
  }

  // ---------------------------------------------------------------- the tree

  /** A team's spec.parent (whether or not that Team exists). */
  parentOf(team: string): string | undefined {
    return this.parentByTeam.get(team);
  }
  /** Teams naming `team` as their parent. */
  childrenOf(team: string): ReadonlySet<string> {
    return this.childrenByTeam.get(team) ?? EMPTY;
  }
  /** The team id's parent id (decide()'s walk). */
  parentId(id: number): number | undefined {
    return this.parentIdOf[id];
  }
  /** The id, then its parent's, up to the root; stops at a repeat (a cycle). */
  *ancestorIdsOrSelf(id: number): Generator<number> {
    const seen: number[] = [];
    for (let t: number | undefined = id; t !== undefined && !seen.includes(t); t = this.parentIdOf[t]) {
      seen.push(t);
      yield t;
    }
  }
  /** `team`, then its parent, up to the root (stops at a repeat). */
  ancestorsOrSelf(team: string): string[] {
    const out: string[] = [];
    for (let t: string | undefined = team; t !== undefined && !out.includes(t); t = this.parentByTeam.get(t)) out.push(t);
    return out;
  }
  /** `team` and every team below it (a repeat is visited once). */
  subtree(team: string): Set<string> {
    const out = new Set<string>([team]);
    const queue = [team];
    for (let t = queue.pop(); t !== undefined; t = queue.pop()) {
      for (const c of this.childrenByTeam.get(t) ?? EMPTY) {
        if (out.has(c)) continue;
        out.add(c);
        queue.push(c);
      }
    }
    return out;
  }
  /** The namespaces a `teams: [team]` scope covers: the team's and those of every team below it. */
  subtreeNamespaces(team: string): Set<string> {
    const out = new Set<string>();
    for (const t of this.subtree(team)) for (const ns of this.teamNamespaces(t)) out.add(ns);
    return out;
  }
  namespaceOwner(namespace: string): string | undefined {
    return this.nsFast.get(namespace)?.owner;
  }
  namespacesOwnedBy(owner: string): ReadonlySet<string> {
    return this.namespacesByOwner.get(owner) ?? EMPTY;
  }
  isPublicNamespace(namespace: string): boolean {
    return this.nsFast.get(namespace)?.isPublic ?? false;
  }
  listPublicNamespaces(): string[] {
    return [...this.publicNamespaces].sort();
  }
}

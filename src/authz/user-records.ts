// Users as decide() sees them: User objects, the seed admins of the configuration, and per
// username one UserRecord (state, superuser, the names that reach the user and their subject ids
// and live team-id sets), refreshed whenever a User object of that name or username changes.
import type { User } from '../api/types.js';
import type { UserRecord } from './index-types.js';
import type { Memberships } from './memberships.js';
import { addTo, EMPTY, removeFrom } from './multimap.js';
import { isBeingDeleted, usernameOf } from './rules.js';
import type { SubjectIds } from './subject-ids.js';
import { selectsCluster, type ClusterIdentity } from '../fleet/cluster.js';
import { userNotHereReason } from '../fleet/identity.js';

export class UserRecords {
  private readonly users = new Map<string, User>();
  /** The User objects, by name (read-only outside). */
  readonly objects: ReadonlyMap<string, User> = this.users;
  private readonly namesByUsername = new Map<string, Set<string>>();
  private readonly records = new Map<string, UserRecord>();

  constructor(
    private readonly seedUsernames: ReadonlySet<string>,
    private readonly ids: SubjectIds,
    private readonly memberships: Memberships,
    /** This cluster (issue 30): a User whose spec.clusters does not select it may not act here. */
    private readonly cluster: ClusterIdentity,
  ) {
    for (const u of seedUsernames) this.refresh(u);
  }

  record(username: string): UserRecord | undefined {
    return this.records.get(username);
  }
  listRecords(): UserRecord[] {
    return [...this.records.values()];
  }
  isSeed(username: string): boolean {
    return this.seedUsernames.has(username);
  }
  /** Whether a User subject or team member resolves: a User's object name, a username, or a seed admin. */
  exists(nameOrUsername: string): boolean {
    return this.users.has(nameOrUsername) || this.records.has(nameOrUsername);
  }
  /** The names of every User object with this username (more than one is a conflict). */
  namesWithUsername(username: string): ReadonlySet<string> {
    return this.namesByUsername.get(username) ?? EMPTY;
  }

  upsert(user: User): void {
    this.remove(user.metadata.name);
    this.users.set(user.metadata.name, user);
    const username = usernameOf(user);
    addTo(this.namesByUsername, username, user.metadata.name);
    this.refresh(username);
    // A User object's name takes that name from a username (resolve): refresh its record too.
    if (username !== user.metadata.name) this.refresh(user.metadata.name);
  }

  remove(name: string): void {
    const old = this.users.get(name);
    if (!old) return;
    this.users.delete(name);
    const username = usernameOf(old);
    removeFrom(this.namesByUsername, username, name);
    this.refresh(username);
    if (username !== name) this.refresh(name);
  }

  /**
   * The one resolution from a name in a binding subject, a team's members or a namespace owner
   * label to a User: the User object of that name, else the User whose username it is. So a
   * username never reaches what names another User's object (docs/security.md, item 3).
   */
  resolve(name: string): User | undefined {
    return this.users.get(name) ?? this.primary(name) ?? undefined;
  }

  /** The User of a username: the lexicographically first object name wins. */
  primary(username: string): User | null {
    const names = this.namesByUsername.get(username);
    if (!names || names.size === 0) return null;
    let first: string | null = null;
    for (const n of names) if (first === null || n < first) first = n;
    return this.users.get(first!) ?? null;
  }

  private refresh(username: string): void {
    const user = this.primary(username);
    const seed = this.seedUsernames.has(username);
    const before = this.records.get(username);
    if (!user && !seed) {
      this.records.delete(username);
      if (before) this.release(before);
      return;
    }
    const name = user?.metadata.name ?? null;
    const aliases: string[] = [];
    if (name !== null) aliases.push(name);
    if (username !== name && (user === null ? !this.users.has(username) : this.resolve(username) === user)) aliases.push(username);
    const deleting = user !== null && isBeingDeleted(user.metadata);
    // Seed admins come from this cluster's own configuration and are never limited (a seed admin's
    // User object may not be changed through the API anyway).
    const otherCluster = !seed && user !== null && !selectsCluster(user.spec.clusters, this.cluster);
    this.records.set(username, {
      // Held by the record; the record it replaces gives its own back below (after, so an id
      // both hold is never freed in between).
      subjectIds: aliases.map((a) => this.ids.acquire('User', a)),
      memberTeamIds: aliases.map((a) => this.memberships.acquireMemberTeamIds(a)),
      aliases,
      name,
      username,
      // Seed admins are protected from change (docs/design.md, "What admission enforces"): the configuration wins over the object.
      // A user limited to other clusters counts as Suspended here, like one being deleted: every
      // reader that asks "is this user Active" (decide(), who-can, the RBAC compiler, admission's
      // superuser count) then leaves them out, with otherCluster saying why.
      state: seed ? 'Active' : deleting || otherCluster ? 'Suspended' : (user!.spec.state ?? 'Pending'),
      superuser: seed || user!.spec.superuser === true,
      seed,
      deleting: !seed && deleting,
      otherCluster,
      // Built once here, not per request: decide() answers every request of such a user with it.
      ...(otherCluster ? { notHereReason: userNotHereReason(username, user!.spec.clusters, this.cluster) } : {}),
      object: user,
    });
    if (before) this.release(before);
  }

  /** Gives back what a replaced or dropped record held. */
  private release(record: UserRecord): void {
    for (const id of record.subjectIds) this.ids.release(id);
    for (const a of record.aliases) this.memberships.releaseMemberTeamIds(a);
  }
}

// The index's shared types: the kinds and changes it takes, what a binding compiles to, and what
// decide() reads of a user, a role name and a namespace. Re-exported by index.ts, which callers
// import. The index's parts (placement, memberships, role-table, user-records) import their types
// from here, and this file imports none of them nor index.ts: no import circle inside src/authz/
// (test/unit/architecture/imports.test.ts checks it).
import type { Namespace, Role, RoleBinding, Subject, Team, User, UserState } from '../api/types.js';
import type { CompiledScope } from './scope.js';

export type IndexedKind = 'User' | 'Role' | 'Team' | 'RoleBinding' | 'Namespace';

export interface ObjectOfKind {
  User: User;
  Role: Role;
  Team: Team;
  RoleBinding: RoleBinding;
  Namespace: Namespace;
}

export type Change =
  | { op: 'upsert'; kind: 'User'; object: User }
  | { op: 'upsert'; kind: 'Role'; object: Role }
  | { op: 'upsert'; kind: 'Team'; object: Team }
  | { op: 'upsert'; kind: 'RoleBinding'; object: RoleBinding }
  | { op: 'upsert'; kind: 'Namespace'; object: Namespace }
  | { op: 'delete'; kind: IndexedKind; name: string };

export interface World {
  users?: readonly User[];
  roles?: readonly Role[];
  teams?: readonly Team[];
  bindings?: readonly RoleBinding[];
  namespaces?: readonly Namespace[];
}

/** A RoleBinding as the index holds it: its scope compiled, its subjects as ids, its role's cell. */
export interface CompiledBinding {
  readonly name: string;
  readonly role: string;
  readonly subjects: readonly Subject[];
  readonly scope: CompiledScope;
  /** ms since epoch; null = never. NaN (unparseable expiresAt) counts as expired. */
  readonly expiresAt: number | null;
  readonly object: RoleBinding;
  /** The role as compiled now (a cell shared by every binding of the role, updated on recompiles). */
  readonly roleCell: RoleCell;
  /** Internal ids of the subjects (subject-ids.ts), compared as numbers in decide(). */
  readonly subjectIds: readonly number[];
}

/** Milliseconds since the epoch; injected so expiry is testable. */
export type NowSource = (() => number) | { now(): number };

/** A user as decide() sees them: a User object, a seed admin from the configuration, or both. */
export interface UserRecord {
  /** The User object's metadata.name; null for a seed admin without a User object yet. */
  readonly name: string | null;
  readonly username: string;
  readonly state: UserState;
  readonly superuser: boolean;
  /** Listed in the configuration's seedAdmins: always an Active superuser. */
  readonly seed: boolean;
  readonly object: User | null;
  /** Its User object is being deleted (rules.ts isBeingDeleted): it counts as Suspended. */
  readonly deleting: boolean;
  /**
   * Its User's spec.clusters does not select this cluster (issue 30, src/fleet/cluster.ts): it
   * counts as Suspended here (`state`), and decide() names the cluster in its reason.
   */
  readonly otherCluster: boolean;
  /** Set exactly when otherCluster: decide()'s reason, naming this cluster and the selector (built with the record, not per request). */
  readonly notHereReason?: string;
  /**
   * The names that refer to this user in binding subjects, team members and the namespace owner
   * label, through the one resolution (PermissionIndex.resolveUser): its User object's name, and
   * its username unless that is another User's object name. Object name first.
   */
  readonly aliases: readonly string[];
  /** Internal subject ids of the aliases as User subjects (decide()'s fast path). */
  readonly subjectIds: readonly number[];
  /** Live sets of the team ids naming each alias as a member. */
  readonly memberTeamIds: readonly ReadonlySet<number>[];
}

/**
 * A role name as decide() sees it: its small id (GrantBits), and the ids of the roles it holds
 * (itself and what it includes, transitively; empty while the role does not exist). A change to
 * a role's permissions touches only its own bits; closures change only when includes change.
 */
export interface RoleCell {
  readonly id: number;
  readonly closure: readonly number[];
  /** Some role in the closure has resourceNames grants, non-resource URLs or `me` (matcher needed). */
  readonly needsMatcher: boolean;
}

/** decide()'s per-namespace facts, in subject ids (see PermissionIndex.namespaceFast). */
export interface NamespaceFast {
  /** Bindings whose namespaces scope lists the namespace, by subject id. */
  bySubject: Map<number, Set<CompiledBinding>> | undefined;
  /** The team id of its iam.gatehouse.dev/team label. */
  labelTeamId: number | undefined;
  /** Team ids of teams listing it in spec.namespaces. */
  specTeamIds: Set<number> | undefined;
  /** Its iam.gatehouse.dev/owner label. */
  owner: string | undefined;
  /** Labelled iam.gatehouse.dev/visibility=public. */
  isPublic: boolean;
}

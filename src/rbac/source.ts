// The RBAC compiler's only view of the permission index: which roles, bindings, users, teams and
// namespaces exist, with the facts decide() reads about them already resolved. compile.ts depends
// on this interface alone, so a reshaped index needs only a new indexSource(), not a new compiler.
import type { Subject } from '../api/types.js';
import { usernameOf } from '../authz/rules.js';
import type { PolicyConfig } from '../config.js';
import type { IndexedKind, PermissionIndex } from '../authz/index.js';
import type { CompiledScope } from '../authz/scope.js';
import type { PermissionAtom } from '../authz/permission.js';

export interface RbacRole {
  readonly name: string;
  /** Own and included atoms (includes flattened, each role once), as decide() matches them. */
  readonly atoms: readonly PermissionAtom[];
}

export interface RbacBinding {
  readonly name: string;
  readonly role: string;
  readonly subjects: readonly Subject[];
  readonly scope: CompiledScope;
  /** ms since the epoch; null = never; NaN (unparseable) counts as expired, as in decide(). */
  readonly expiresAt: number | null;
}

export interface RbacUser {
  /** What the authenticator reports and what RBAC subjects name. */
  readonly username: string;
  readonly active: boolean;
  readonly superuser: boolean;
}

export interface RbacNamespace {
  readonly name: string;
  /** Teams whose scope covers it: its team label and teams listing it in spec.namespaces. */
  readonly teams: readonly string[];
  /** Owner username (label/annotation), if any. */
  readonly owner: string | undefined;
  readonly isPublic: boolean;
}

export interface RbacSource {
  readonly config: Pick<PolicyConfig, 'defaults' | 'projects' | 'authorization'>;
  /** Changes whenever any object of `kind` changed: the compiler re-asks only questions about kinds that moved. */
  version(kind: IndexedKind): number;
  roles(): Iterable<RbacRole>;
  role(name: string): RbacRole | undefined;
  bindings(): Iterable<RbacBinding>;
  /** Every user decide() knows (the primary record per username, seed admins included). */
  users(): Iterable<RbacUser>;
  /** The user decide() would match for a User subject or a team member named `name`, if any. */
  userNamed(name: string): RbacUser[];
  /** Existing Team's members and identity-provider groups; undefined when the Team does not exist. */
  team(name: string): { readonly members: readonly string[]; readonly groups: readonly string[] } | undefined;
  /** Existing namespaces (RoleBindings can live only there). */
  namespaces(): Iterable<RbacNamespace>;
  namespace(name: string): RbacNamespace | undefined;
  /** Existing namespaces a team's scope covers (label or spec.namespaces). */
  teamNamespaces(team: string): readonly string[];
  /**
   * The namespaces that changed since version('Namespace') was `version`, or undefined when that is
   * no longer known: the compiler then re-asks only the questions about these (and their teams).
   */
  namespacesChangedSince?(version: number): readonly string[] | undefined;
  /** Existing namespaces a `teams: [team]` scope covers: the team's and every team's below it. */
  subtreeNamespaces(team: string): readonly string[];
  /**
   * `team`, its parent and so on up to the root: the scopes whose namespace lists a namespace of
   * `team` can change. Without it a Namespace event re-asks every subtree's list.
   */
  teamAncestorsOrSelf?(team: string): readonly string[];
}

/** The adapter from today's PermissionIndex: the one place the compiler's input meets the index. */
export function indexSource(index: PermissionIndex): RbacSource {
  const userOf = (username: string): RbacUser | undefined => {
    const r = index.userRecord(username);
    return r === undefined ? undefined : { username: r.username, active: r.state === 'Active', superuser: r.superuser };
  };
  const nsFacts = (name: string): RbacNamespace | undefined => {
    if (index.getNamespace(name) === undefined) return undefined;
    return { name, teams: [...index.namespaceTeams(name)].sort(), owner: index.namespaceOwner(name), isPublic: index.isPublicNamespace(name) };
  };
  return {
    config: index.config,
    version: (kind) => index.generationOf(kind),
    *roles() {
      for (const r of index.listRoles()) {
        const role = index.compiledRole(r.metadata.name);
        if (role) yield { name: role.name, atoms: role.atoms.map((a) => a.atom) };
      }
    },
    role(name) {
      const role = index.compiledRole(name);
      return role ? { name: role.name, atoms: role.atoms.map((a) => a.atom) } : undefined;
    },
    *bindings() {
      for (const b of index.listCompiledBindings()) yield { name: b.name, role: b.role, subjects: b.subjects, scope: b.scope, expiresAt: b.expiresAt };
    },

    *users() {
      for (const r of index.listUserRecords()) yield { username: r.username, active: r.state === 'Active', superuser: r.superuser };
    },
    userNamed(name) {
      // decide() matches a name against the requester's username and the primary User object's name.
      const out: RbacUser[] = [];
      const byUsername = userOf(name);
      if (byUsername) out.push(byUsername);
      const obj = index.getUser(name);
      if (obj) {
        const username = usernameOf(obj);
        const rec = index.userRecord(username);
        if (rec && rec.name === name && username !== name) out.push(userOf(username)!);
      }
      return out;
    },
    team(name) {
      const t = index.getTeam(name);
      return t ? { members: t.spec.members ?? [], groups: t.spec.groups ?? [] } : undefined;
    },
    *namespaces() {
      for (const ns of index.listNamespaces()) yield nsFacts(ns.metadata.name)!;
    },
    namespace: nsFacts,
    teamNamespaces(team) {
      return [...index.teamNamespaces(team)].filter((ns) => index.getNamespace(ns) !== undefined).sort();
    },
    namespacesChangedSince: (version) => index.namespacesChangedSince(version),
    teamAncestorsOrSelf: (team) => index.teamAncestorsOrSelf(team),
    subtreeNamespaces(team) {
      return [...index.subtreeNamespaces(team)].filter((ns) => index.getNamespace(ns) !== undefined).sort();
    },
  };
}

// The RBAC compiler: from the permission index (through RbacSource) to the native RBAC objects
// that let the API server's own RBAC authorizer allow what decide() allows. Pure: no I/O, the
// clock is a parameter. The applier (src/controller/rbac-applier.ts) diffs the result against the
// cluster; this module never sees the cluster.
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
import type { PolicyRule, Subject } from '../api/types.js';
import { GROUP } from '../api/types.js';
import { isLive } from '../authz/rules.js';
import type { RbacSource, RbacUser } from './source.js';
import { BUILTIN_GROUPS, delegatedRules, roleRules, SUPERUSER_RULES } from './rules.js';

export const RBAC_GROUP = 'rbac.authorization.k8s.io';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'gatehouse';
/** Label: what kind of grant an object carries (role, delegate, binding, superuser, project-owner, public, default). */
export const SOURCE_LABEL = `${GROUP}/rbac-source`;
/** Annotation: the exact source, e.g. `RoleBinding/vision-researchers` or `projects.ownerRole`. */
export const SOURCE_ANNOTATION = `${GROUP}/source`;
/** The label selector the applier watches and the only objects it ever updates or deletes. */
export const MANAGED_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY}`;
/** Longest name written; longer ones keep a prefix and end in `~` and a hash (`~` is in no Kubernetes object name). */
export const MAX_NAME = 253;
/** Subjects per binding object: at most ~330 bytes each, so ~660 KB, well inside etcd's 1.5 MiB. */
export const DEFAULT_MAX_SUBJECTS = 2000;

export type SourceKind = 'role' | 'delegate' | 'binding' | 'superuser' | 'project-owner' | 'public' | 'default';

export interface RbacSubject {
  kind: 'User' | 'Group';
  apiGroup: typeof RBAC_GROUP;
  name: string;
}

export interface RbacMeta {
  name: string;
  namespace?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface RbacClusterRole {
  kind: 'ClusterRole';
  metadata: RbacMeta;
  rules: PolicyRule[];
}

export interface RbacBindingObject {
  kind: 'ClusterRoleBinding' | 'RoleBinding';
  metadata: RbacMeta;
  roleRef: { apiGroup: typeof RBAC_GROUP; kind: 'ClusterRole'; name: string };
  subjects: RbacSubject[];
}

export type RbacObject = RbacClusterRole | RbacBindingObject;
export type RbacKind = RbacObject['kind'];

export interface DesiredRbac {
  /** By objectKey(). */
  readonly objects: Map<string, RbacObject>;
  /** The earliest expiresAt after `now` of a binding that grants now (the applier's timer). */
  readonly nextExpiry: number | null;
  /** Per username: how many binding objects name them. */
  readonly subjectCounts: Map<string, number>;
}

export interface CompileOptions {
  now: number;
  maxSubjects?: number;
  /** The API groups the cluster serves (discovery); a group-less wildcard is written over them (rules.ts atomRules). */
  apiGroups?: readonly string[];
}

/** `Kind/namespace/name` (namespace empty for cluster-scoped kinds): the applier's key. */
export function objectKey(kind: RbacKind, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ?? ''}/${name}`;
}
export const keyOf = (o: RbacObject): string => objectKey(o.kind, o.metadata.namespace, o.metadata.name);

/** A deterministic name no other source can produce: `gatehouse:<what>:<name>`, hashed when too long. */
export function rbacName(what: string, name: string, reserve = 0): string {
  const full = `gatehouse:${what}:${name}`;
  const limit = MAX_NAME - reserve;
  if (full.length <= limit) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 16);
  return `${full.slice(0, limit - hash.length - 1)}~${hash}`;
}

/** Room kept at the end of a base name for a part number (`:2` ... `:99999`). */
export const PART_RESERVE = 6;
const partName = (base: string, part: number): string => (part === 0 ? base : `${base}:${part + 1}`);

const meta = (name: string, namespace: string | undefined, source: SourceKind, annotation: string): RbacMeta => ({
  name,
  ...(namespace !== undefined ? { namespace } : {}),
  labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [SOURCE_LABEL]: source },
  annotations: { [SOURCE_ANNOTATION]: annotation },
});


export function compileRbac(src: RbacSource, opts: CompileOptions): DesiredRbac {
  const { now } = opts;
  const maxSubjects = Math.max(1, opts.maxSubjects ?? DEFAULT_MAX_SUBJECTS);
  const { authorization, projects, defaults } = src.config;
  const ignoreUsers = new Set(authorization.ignoreUsers);
  const ignoreGroups = new Set(authorization.ignoreGroups);
  const objects = new Map<string, RbacObject>();
  const subjectCounts = new Map<string, number>();
  let nextExpiry: number | null = null;

  // decide() step 1 leaves these to RBAC, and never grants through them; step 4 grants nothing to
  // an inactive user.
  const eligible = (u: RbacUser): boolean => u.active && !ignoreUsers.has(u.username) && !u.username.startsWith('system:');
  const groupOk = (g: string): boolean => g !== '' && !g.startsWith('system:') && !ignoreGroups.has(g);

  const put = (o: RbacObject): void => {
    objects.set(keyOf(o), o);
  };
  const clusterRole = (name: string, source: SourceKind, annotation: string, rules: PolicyRule[]): string => {
    put({ kind: 'ClusterRole', metadata: meta(name, undefined, source, annotation), rules });
    return name;
  };

  /** Writes one binding object per `maxSubjects` subjects (none when there are no subjects). */
  const bind = (kind: RbacBindingObject['kind'], base: string, namespace: string | undefined, roleName: string, subjects: readonly RbacSubject[], source: SourceKind, annotation: string): void => {
    for (let part = 0; part * maxSubjects < subjects.length; part++) {
      const chunk = subjects.slice(part * maxSubjects, (part + 1) * maxSubjects);
      for (const s of chunk) if (s.kind === 'User') subjectCounts.set(s.name, (subjectCounts.get(s.name) ?? 0) + 1);
      put({ kind, metadata: meta(partName(base, part), namespace, source, annotation), roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: roleName }, subjects: chunk });
    }
  };

  const subjectList = (users: Iterable<string>, groups: Iterable<string>): RbacSubject[] => [
    ...[...new Set(groups)].sort().map((name): RbacSubject => ({ kind: 'Group', apiGroup: RBAC_GROUP, name })),
    ...[...new Set(users)].sort().map((name): RbacSubject => ({ kind: 'User', apiGroup: RBAC_GROUP, name })),
  ];

  const everyone: string[] = [];
  for (const u of src.users()) if (eligible(u)) everyone.push(u.username);
  const allActive = subjectList(everyone, []);
  const usersNamed = (name: string): string[] => src.userNamed(name).filter(eligible).map((u) => u.username);

  // Roles: one ClusterRole each, and a second one for what a holder in any scope may write on
  // Gatehouse's kinds when the role grants such writes (both depend on the Role alone).
  const roleName = (role: string): string => rbacName('role', role);
  const delegateRoles = new Map<string, string>();
  const delegateRole = (role: string): string | null => delegateRoles.get(role) ?? null;
  // The groups a group-less wildcard is written over: built-in, served, and every group a Role names.
  const groups = new Set<string>([...BUILTIN_GROUPS, ...(opts.apiGroups ?? [])]);
  for (const r of src.roles()) for (const a of r.atoms) if (a.kind === 'resource' && a.group !== null) groups.add(a.group);
  const otherGroups = [...groups].filter((g) => g !== '').sort();
  for (const r of src.roles()) {
    clusterRole(roleName(r.name), 'role', `Role/${r.name}`, roleRules(r.atoms, otherGroups));
    const rules = delegatedRules(r.atoms);
    if (rules.length > 0) delegateRoles.set(r.name, clusterRole(rbacName('delegate', r.name), 'delegate', `Role/${r.name}`, rules));
  }

  // Superusers.
  const superusers: string[] = [];
  for (const u of src.users()) if (u.superuser && eligible(u)) superusers.push(u.username);
  if (superusers.length > 0) {
    const cr = clusterRole('gatehouse:superuser', 'superuser', 'User.spec.superuser', SUPERUSER_RULES.map((r) => ({ ...r })));
    bind('ClusterRoleBinding', 'gatehouse:superusers', undefined, cr, subjectList(superusers, []), 'superuser', 'User.spec.superuser');
  }

  // Live RoleBindings.
  for (const b of src.bindings()) {
    if (!isLive(b, now)) continue;
    if (b.expiresAt !== null && (nextExpiry === null || b.expiresAt < nextExpiry)) nextExpiry = b.expiresAt;
    if (src.role(b.role) === undefined) continue; // RoleNotFound grants nothing
    const subjects = resolveSubjects(src, b.subjects, usersNamed, groupOk);
    if (subjects.users.length === 0 && subjects.groups.length === 0) continue;
    const list = subjectList(subjects.users, subjects.groups);
    const base = rbacName('binding', b.name, PART_RESERVE);
    const annotation = `RoleBinding/${b.name}`;
    // Written for cluster bindings too: approval (update/patch through `users:approve`) is in no role's rules.
    const delegate = delegateRole(b.role);
    if (delegate !== null) bind('ClusterRoleBinding', rbacName('delegate', b.name, PART_RESERVE), undefined, delegate, list, 'delegate', annotation);
    if (b.scope.kind === 'cluster') {
      bind('ClusterRoleBinding', base, undefined, roleName(b.role), list, 'binding', annotation);
      continue;
    }
    const namespaces = new Set<string>();
    if (b.scope.kind === 'namespaces') {
      for (const ns of b.scope.namespaces) if (src.namespace(ns) !== undefined) namespaces.add(ns);
    } else {
      for (const t of b.scope.teams) for (const ns of src.teamNamespaces(t)) namespaces.add(ns);
    }
    for (const ns of [...namespaces].sort()) bind('RoleBinding', base, ns, roleName(b.role), list, 'binding', annotation);
  }

  // Projects and defaults (decide() steps 7 and 8).
  const owners = new Set<string>();
  let anyPublic = false;
  const ownerRole = projects.ownerRole && src.role(projects.ownerRole) ? projects.ownerRole : undefined;
  const publicRole = projects.publicRole && src.role(projects.publicRole) ? projects.publicRole : undefined;
  for (const ns of src.namespaces()) {
    if (ownerRole && ns.owner !== undefined) {
      const who = usersNamed(ns.owner);
      for (const u of who) owners.add(u);
      if (who.length > 0) bind('RoleBinding', 'gatehouse:project-owner', ns.name, roleName(ownerRole), subjectList(who, []), 'project-owner', 'projects.ownerRole');
    }
    if (ns.isPublic) {
      anyPublic = true;
      if (publicRole) bind('RoleBinding', 'gatehouse:public', ns.name, roleName(publicRole), allActive, 'public', 'projects.publicRole');
    }
  }
  const defRole = defaults.role && defaults.team && src.role(defaults.role) ? defaults.role : undefined;
  if (defRole) {
    for (const ns of src.teamNamespaces(defaults.team!)) bind('RoleBinding', 'gatehouse:default', ns, roleName(defRole), allActive, 'default', 'defaults');
  }
  // Delegated administration through the same grants (decide()'s holdAnywhere).
  const ownerDelegate = ownerRole ? delegateRole(ownerRole) : null;
  if (ownerDelegate !== null && owners.size > 0) bind('ClusterRoleBinding', 'gatehouse:project-owners:delegate', undefined, ownerDelegate, subjectList(owners, []), 'delegate', 'projects.ownerRole');
  const publicDelegate = publicRole && anyPublic ? delegateRole(publicRole) : null;
  if (publicDelegate !== null) bind('ClusterRoleBinding', 'gatehouse:public:delegate', undefined, publicDelegate, allActive, 'delegate', 'projects.publicRole');
  const defaultDelegate = defRole ? delegateRole(defRole) : null;
  if (defaultDelegate !== null) bind('ClusterRoleBinding', 'gatehouse:default:delegate', undefined, defaultDelegate, allActive, 'delegate', 'defaults');

  return { objects, nextExpiry, subjectCounts };
}

/** A binding's subjects as RBAC sees them: Users by username, Teams as their members and groups. */
function resolveSubjects(src: RbacSource, subjects: readonly Subject[], usersNamed: (name: string) => string[], groupOk: (g: string) => boolean): { users: string[]; groups: string[] } {
  const users: string[] = [];
  const groups: string[] = [];
  for (const s of subjects) {
    if (s.kind === 'User') users.push(...usersNamed(s.name));
    else if (s.kind === 'Group') {
      if (groupOk(s.name)) groups.push(s.name);
    } else {
      const team = src.team(s.name);
      if (!team) continue;
      for (const m of team.members) users.push(...usersNamed(m));
      for (const g of team.groups) if (groupOk(g)) groups.push(g);
    }
  }
  return { users, groups };
}

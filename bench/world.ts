// A deterministic generator of large Gatehouse worlds for benchmarks (seeded PRNG, no I/O).
// Other benchmarks may reuse it at other sizes: generateWorld({users: 1000, ...}).
import type { Namespace, Role, RoleBinding, Scope, Subject, Team, User } from '../src/api/types.js';
import type { World } from '../src/authz/index.js';
import type { AccessRequest } from '../src/authz/types.js';

export interface WorldSize {
  users: number;
  teams: number;
  roles: number;
  bindings: number;
  namespaces: number;
}
export const ISSUE_SIZE: WorldSize = { users: 100_000, teams: 10_000, roles: 1_000, bindings: 100_000, namespaces: 20_000 };

/** mulberry32: small, fast, good enough for test data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Generated extends Required<World> {
  size: WorldSize;
  /** Deterministic requests resembling real traffic (mostly users with bindings). */
  requests(count: number, seed?: number): AccessRequest[];
  /** The username of user i. */
  username(i: number): string;
  userGroups(i: number): string[];
}

const RESOURCES = ['pods', 'pods/log', 'pods/exec', 'services', 'configmaps', 'secrets', 'jobs', 'cronjobs', 'deployments', 'statefulsets', 'notebooks', 'experiments', 'pipelines', 'runs', 'models', 'datasets', 'workspaces', 'inferenceservices', 'persistentvolumeclaims', 'events'];
/** What roles name besides RESOURCES: wildcards (resource, subresource) and the explicit-only targets by name. */
const PERMISSION_EXTRAS = ['*', '*', 'pods/*', 'pods/attach', 'pods/portforward', 'services/proxy', 'serviceaccounts/token'];
/**
 * The targets a wildcard never reaches (docs/security.md, "What `*` covers"), all in the core
 * group; requests ask for one of them EXPLICIT_REQUEST_SHARE of the time on top of RESOURCES'
 * own `secrets` and `pods/exec` (in every group), so every one of them is asked for.
 */
export const EXPLICIT_ONLY_REQUESTS = ['secrets', 'pods/exec', 'pods/attach', 'pods/portforward', 'pods/proxy', 'services/proxy', 'nodes/proxy', 'serviceaccounts/token'];
export const EXPLICIT_REQUEST_SHARE = 0.05;
/** Roles that are `*:*` (an admin) or `*:read` (a viewer of everything), as real clusters have a few. */
const ADMIN_ROLE_SHARE = 0.02;
const VIEWER_ROLE_SHARE = 0.03;
const GROUPS_OF = ['', 'apps', 'batch', 'kubeflow.org', 'serving.kserve.io', 'example.com'];
const ACTIONS = ['read', 'write', '*', 'get', 'list', 'create', 'delete', 'adapt'];
const VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'adapt'];
const GROUP_COUNT = 1000;
const BASE_ROLES = 20;
const MID_ROLES = 100;

export function generateWorld(size: WorldSize = ISSUE_SIZE, seed = 42): Generated {
  const rand = prng(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const username = (i: number) => (i % 2 === 0 ? `user-${i}@example.com` : `user-${i}`);
  const userGroups = (i: number) => [`oidc:g-${i % GROUP_COUNT}`, `oidc:g-${(i * 7) % GROUP_COUNT}`, 'system:authenticated'];

  const users: User[] = [];
  for (let i = 0; i < size.users; i++) {
    const state = rand() < 0.95 ? 'Active' : pick(['Pending', 'Suspended', 'Rejected'] as const);
    users.push({ kind: 'User', metadata: { name: `user-${i}` }, spec: { ...(i % 2 === 0 ? { username: username(i) } : {}), email: `user-${i}@example.com`, state, superuser: i < 3 } });
  }

  const namespaces: Namespace[] = [];
  for (let i = 0; i < size.namespaces; i++) {
    const labels: Record<string, string> = {};
    if (rand() < 0.5) labels['iam.gatehouse.dev/team'] = `team-${int(size.teams)}`;
    if (rand() < 0.3) labels['iam.gatehouse.dev/owner'] = `user-${int(size.users)}`;
    if (rand() < 0.02) labels['iam.gatehouse.dev/visibility'] = 'public';
    namespaces.push({ kind: 'Namespace', metadata: { name: `ns-${i}`, labels } });
  }

  const teams: Team[] = [];
  for (let i = 0; i < size.teams; i++) {
    const members = Array.from({ length: 5 + int(11) }, () => `user-${int(size.users)}`);
    const groups = rand() < 0.3 ? [`oidc:g-${int(GROUP_COUNT)}`] : [];
    const nss = Array.from({ length: 1 + int(2) }, () => `ns-${int(size.namespaces)}`);
    teams.push({ kind: 'Team', metadata: { name: `team-${i}` }, spec: { members, groups, namespaces: nss } });
  }

  const roles: Role[] = [];
  for (let i = 0; i < size.roles; i++) {
    const permissions = Array.from({ length: 5 + int(26) }, () => {
      const res = rand() < 0.1 ? pick(PERMISSION_EXTRAS) : pick(RESOURCES);
      const g = pick(GROUPS_OF);
      const prefix = rand() < 0.5 ? '' : g === '' ? 'core/' : `${g}/`;
      return `${prefix}${res}:${pick(ACTIONS)}`;
    });
    if (rand() < 0.1) permissions.push('me');
    const kind = rand();
    if (kind < ADMIN_ROLE_SHARE) permissions.push('*:*');
    else if (kind < ADMIN_ROLE_SHARE + VIEWER_ROLE_SHARE) permissions.push('*:read');
    // A shallow hierarchy, as people write them: 20 base roles include nothing; the next 80
    // "mid" roles may include base roles; the rest may include base or mid roles.
    const includes = i >= BASE_ROLES && rand() < 0.3 ? Array.from({ length: 1 + int(2) }, () => `role-${int(Math.min(i, i < MID_ROLES ? BASE_ROLES : MID_ROLES))}`) : [];
    const rules = rand() < 0.1 ? [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'], resourceNames: [`cfg-${i}`] }] : [];
    const canAssign = rand() < 0.05 ? [`role-${int(size.roles)}`] : [];
    roles.push({ kind: 'Role', metadata: { name: `role-${i}` }, spec: { permissions, includes, rules, canAssign } });
  }

  const bindings: RoleBinding[] = [];
  for (let i = 0; i < size.bindings; i++) {
    const subjects: Subject[] = [];
    const r = rand();
    if (r < 0.5) subjects.push({ kind: 'User', name: `user-${int(size.users)}` });
    else if (r < 0.9) subjects.push({ kind: 'Team', name: `team-${int(size.teams)}` });
    else subjects.push({ kind: 'Group', name: `oidc:g-${int(GROUP_COUNT)}` });
    const s = rand();
    const scope: Scope = s < 0.05 ? { cluster: true } : s < 0.5 ? { teams: [`team-${int(size.teams)}`] } : { namespaces: Array.from({ length: 1 + int(3) }, () => `ns-${int(size.namespaces)}`) };
    const expiresAt = rand() < 0.1 ? new Date(Date.UTC(2026, int(24), 1)).toISOString() : undefined;
    bindings.push({ kind: 'RoleBinding', metadata: { name: `rb-${i}` }, spec: { role: `role-${int(size.roles)}`, subjects, scope, ...(expiresAt ? { expiresAt } : {}) } });
  }

  const requests = (count: number, reqSeed = 7): AccessRequest[] => {
    const rr = prng(reqSeed);
    const rint = (n: number) => Math.floor(rr() * n);
    const out: AccessRequest[] = [];
    for (let k = 0; k < count; k++) {
      // Aim at users who hold bindings, so decide() does real work, plus random users.
      const b = bindings[rint(bindings.length)]!;
      const subj = b.spec.subjects[0]!;
      let ui = rint(size.users);
      if (subj.kind === 'User' && rr() < 0.7) ui = Number(subj.name.slice(5));
      const scope = b.spec.scope;
      let namespace: string | undefined = `ns-${rint(size.namespaces)}`;
      if (rr() < 0.6 && scope.namespaces) namespace = scope.namespaces[0];
      if (rr() < 0.05) namespace = undefined;
      const explicit = rr() < EXPLICIT_REQUEST_SHARE;
      const res = explicit ? EXPLICIT_ONLY_REQUESTS[k % EXPLICIT_ONLY_REQUESTS.length]! : RESOURCES[rint(RESOURCES.length)]!;
      const [resource, subresource] = res.split('/') as [string, string | undefined];
      const group = explicit ? '' : GROUPS_OF[rint(GROUPS_OF.length)]!;
      out.push({
        user: username(ui),
        groups: userGroups(ui),
        resource: { verb: VERBS[rint(VERBS.length)]!, group, resource, ...(subresource ? { subresource } : {}), ...(namespace ? { namespace } : {}) },
      });
    }
    return out;
  };

  return { size, users, roles, teams, bindings, namespaces, requests, username, userGroups };
}

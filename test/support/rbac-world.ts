// Random Gatehouse worlds for the RBAC compiler's differential tests (unit: against a reading of
// the RBAC authorizer; integration: against the real API server in RBAC-only mode), with requests
// to ask about them. Users in every state (some with a username other than their object name),
// teams with members and groups, roles with aliases, subresources, custom verbs, resourceNames,
// non-resource URLs and includes, bindings of every scope and subject kind, expired and future
// bindings, owned and public namespaces, and the defaults.
import type { Namespace, PolicyRule, Role, RoleBinding, Subject, Team, User, UserState } from '../../src/api/types.js';
import type { AccessRequest } from '../../src/authz/types.js';
import type { PermissionIndex } from '../../src/authz/index.js';
import { decide } from '../../src/authz/decide.js';
import { prng } from '../../bench/world.js';

/** The configuration the worlds assume (roles and team below exist in every world). */
export const RBAC_WORLD_CONFIG = {
  defaults: { role: 'rw-default', team: 'tw-default' },
  projects: { ownerRole: 'rw-owner', publicRole: 'rw-public' },
};

const PERMS = [
  'pods:get', 'pods:read', 'pods/log:get', 'pods/*:get', 'pods/exec:create', '*:read', '*:*', '*/scale:update', 'apps/deployments:*',
  'apps/deployments/scale:patch', 'batch/jobs:write', 'jobs:adapt', 'example.com/usecases:adapt', 'core/configmaps:read', 'secrets:get',
  'core/pods:delete', 'nodes:list', 'nodes/proxy:get', 'kubeflow.org/notebooks:create', 'kubeflow.org/*:read', 'iam.gatehouse.dev/rolebindings:create',
  'iam.gatehouse.dev/users:approve', 'iam.gatehouse.dev/teams:write', 'iam.gatehouse.dev/*:read', 'users:get', 'me', '/metrics:get', '/logs/*:get', '/healthz:*',
  'configmaps:list,watch', 'services:write', 'jobs/status:get',
];
const RULES: PolicyRule[] = [
  { apiGroups: [''], resources: ['pods', 'configmaps'], verbs: ['get', 'delete'], resourceNames: ['web', 'db'] },
  { apiGroups: ['iam.gatehouse.dev'], resources: ['users'], verbs: ['update'], resourceNames: ['w-u1'] },
  { apiGroups: ['*'], resources: ['jobs', 'pods/log'], verbs: ['write'] },
  { nonResourceURLs: ['/version'], verbs: ['get'] },
  { apiGroups: ['apps', 'batch'], resources: ['*'], verbs: ['read'] },
];
const STATES: UserState[] = ['Active', 'Active', 'Active', 'Active', 'Pending', 'Rejected', 'Suspended'];

export interface RbacWorld {
  users: User[];
  roles: Role[];
  teams: Team[];
  bindings: RoleBinding[];
  namespaces: Namespace[];
  /** Requests about this world; inactive and unknown users carry no groups (docs/rbac.md says why). */
  requests(count: number, seed?: number): AccessRequest[];
}

export interface RbacWorldSize {
  users: number;
  teams: number;
  roles: number;
  bindings: number;
  namespaces: number;
}
/** The CRD groups the worlds' requests name (a cluster serving them lists them in discovery). */
export const RBAC_WORLD_API_GROUPS: readonly string[] = ['example.com', 'kubeflow.org', 'run.ai'];

export const SMALL_WORLD: RbacWorldSize = { users: 10, teams: 4, roles: 8, bindings: 14, namespaces: 6 };

export function randomRbacWorld(seed: number, size: RbacWorldSize = SMALL_WORLD, now = Date.now()): RbacWorld {
  const rand = prng(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const some = <T>(xs: readonly T[], max: number, min = 0): T[] => {
    const n = min + int(max - min + 1);
    const out = new Set<T>();
    for (let i = 0; i < n; i++) out.add(pick(xs));
    return [...out];
  };
  const p = (x: number) => rand() < x;

  const userNames = Array.from({ length: size.users }, (_, i) => `w-u${i}`);
  const usernames = new Map<string, string>();
  const users: User[] = userNames.map((name, i) => {
    const username = i % 3 === 1 ? `${name}@corp` : name;
    usernames.set(name, username);
    const state = i === 0 ? 'Active' : pick(STATES);
    return { kind: 'User', metadata: { name }, spec: { ...(username !== name ? { username } : {}), state, superuser: i > 0 && p(0.08) } };
  });
  const memberNames = [...userNames, ...[...usernames.values()].filter((u) => u.includes('@')), 'w-ghost'];
  const groupPool = Array.from({ length: Math.max(2, Math.ceil(size.teams / 2)) }, (_, i) => `oidc:wg${i}`);
  const teamNames = ['tw-default', ...Array.from({ length: size.teams - 1 }, (_, i) => `tw-${i}`)];
  const nsNames = Array.from({ length: size.namespaces }, (_, i) => `w-ns${i}`);
  const roleNames = ['rw-default', 'rw-owner', 'rw-public', ...Array.from({ length: Math.max(0, size.roles - 3) }, (_, i) => `rw-${i}`)];

  const teams: Team[] = teamNames.map((name) => ({
    kind: 'Team', metadata: { name },
    spec: { members: some(memberNames, 4), groups: some(groupPool, 2), namespaces: p(0.5) ? some([...nsNames, 'w-missing-ns'], 2) : [], ...(p(0.4) ? { parent: pick([...teamNames, 'tw-unknown']) } : {}) },
  }));
  const namespaces: Namespace[] = nsNames.map((name) => {
    const labels: Record<string, string> = {};
    if (p(0.5)) labels['iam.gatehouse.dev/team'] = pick([...teamNames, 'tw-unknown']);
    if (p(0.3)) labels['iam.gatehouse.dev/owner'] = pick([...userNames, 'w-ghost']);
    if (p(0.25)) labels['iam.gatehouse.dev/visibility'] = 'public';
    return { kind: 'Namespace', metadata: { name, labels } };
  });
  const roles: Role[] = roleNames.map((name) => {
    const permissions = some(PERMS, 3);
    const rules = p(0.3) ? some(RULES, 1) : [];
    const includes = p(0.4) ? some(roleNames.filter((r) => r !== name), 2) : [];
    return { kind: 'Role', metadata: { name }, spec: { permissions, ...(rules.length ? { rules } : {}), ...(includes.length ? { includes } : {}) } };
  });
  const subject = (): Subject => {
    const k = int(3);
    if (k === 0) return { kind: 'User', name: pick(memberNames) };
    if (k === 1) return { kind: 'Team', name: pick([...teamNames, 'tw-ghost']) };
    return { kind: 'Group', name: pick(groupPool) };
  };
  const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
  const bindings: RoleBinding[] = Array.from({ length: size.bindings }, (_, i) => {
    const s = int(3);
    const scope = s === 0 ? { cluster: true } : s === 1 ? { teams: some([...teamNames, 'tw-unknown'], 2, 1) } : { namespaces: some(nsNames, 2, 1) };
    const e = int(6);
    const expiresAt = e === 0 ? iso(now - 3_600_000) : e === 1 ? iso(now + 30 * 86_400_000) : undefined;
    return {
      kind: 'RoleBinding', metadata: { name: `bw-${i}` },
      spec: { role: pick([...roleNames, 'rw-ghost']), subjects: Array.from({ length: 1 + int(3) }, subject), scope, ...(expiresAt ? { expiresAt } : {}) },
    };
  });

  const RESOURCES: Array<{ group: string; resource: string; subresource?: string; cluster?: boolean }> = [
    { group: '', resource: 'pods' }, { group: '', resource: 'pods', subresource: 'log' }, { group: '', resource: 'pods', subresource: 'exec' },
    { group: '', resource: 'pods', subresource: 'status' }, { group: '', resource: 'configmaps' }, { group: '', resource: 'secrets' },
    { group: '', resource: 'services' }, { group: 'apps', resource: 'deployments' }, { group: 'apps', resource: 'deployments', subresource: 'scale' },
    { group: 'batch', resource: 'jobs' }, { group: 'batch', resource: 'jobs', subresource: 'status' }, { group: 'run.ai', resource: 'jobs' },
    { group: 'kubeflow.org', resource: 'notebooks' }, { group: 'example.com', resource: 'usecases' },
    { group: '', resource: 'nodes', cluster: true }, { group: '', resource: 'nodes', subresource: 'proxy', cluster: true },
    { group: 'iam.gatehouse.dev', resource: 'users', cluster: true }, { group: 'iam.gatehouse.dev', resource: 'rolebindings', cluster: true },
    { group: 'iam.gatehouse.dev', resource: 'teams', cluster: true }, { group: 'iam.gatehouse.dev', resource: 'roles', cluster: true },
  ];
  const VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection', 'adapt', 'approve'];
  const PATHS = ['/metrics', '/healthz', '/logs/a', '/logs', '/version'];
  const activeGroups = new Set<string>(groupPool);

  return {
    users, roles, teams, bindings, namespaces,
    requests(count, reqSeed = seed + 1) {
      const r = prng(reqSeed);
      const ri = (n: number) => Math.floor(r() * n);
      const rp = <T>(xs: readonly T[]): T => xs[ri(xs.length)]!;
      const out: AccessRequest[] = [];
      const who = [...users.map((u) => ({ user: u.spec.username ?? u.metadata.name, active: u.spec.state === 'Active' })), { user: 'w-stranger', active: false }, { user: 'system:admin', active: false }];
      for (let i = 0; i < count; i++) {
        const w = rp(who);
        const groups = w.active && r() < 0.5 ? [...new Set([rp([...activeGroups]), rp([...activeGroups, 'oidc:nobody'])])] : [];
        if (r() < 0.06) {
          out.push({ user: w.user, groups, nonResource: { path: rp(PATHS), verb: rp(['get', 'post']) } });
          continue;
        }
        const res = rp(RESOURCES);
        const name = r() < 0.35 ? rp(['web', 'db', 'w-u1', 'w-u2', 'x']) : undefined;
        out.push({
          user: w.user, groups,
          resource: {
            verb: rp(VERBS), group: res.group, resource: res.resource,
            ...(res.subresource ? { subresource: res.subresource } : {}),
            ...(res.cluster ? {} : { namespace: rp(nsNames) }),
            ...(name !== undefined ? { name } : {}),
          },
        });
      }
      return out;
    },
  };
}

/** decide() codes whose grants RBAC cannot carry (docs/rbac.md): they need the webhook. */
export const WEBHOOK_ONLY: ReadonlySet<string> = new Set(['self', 'registration']);

/** null when RBAC's answer agrees with decide()'s, else what differs. */
export function compareWithDecide(index: PermissionIndex, rbacAllow: boolean, r: AccessRequest, now: number): string | null {
  const d = decide(index, r, { now });
  if (d.verdict === 'allow' && !WEBHOOK_ONLY.has(d.code) && !rbacAllow) return `decide allows (${d.reason}) but RBAC does not: ${JSON.stringify(r)}`;
  if (d.verdict !== 'allow' && rbacAllow) return `RBAC allows but decide says ${d.verdict} (${d.reason}): ${JSON.stringify(r)}`;
  return null;
}

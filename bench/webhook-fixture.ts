// What the webhook benchmark decides with and sends: realistic SubjectAccessReview bodies (~1 KB,
// shaped like kube-apiserver's) and the authorize function the server process uses.
import type { AccessRequest, Decision } from '../src/authz/types.js';
import type { User, Role, Team, RoleBinding, Namespace } from '../src/api/types.js';
import { PermissionIndex, type World } from '../src/authz/index.js';
import { decide } from '../src/authz/decide.js';
import { parseConfig } from '../src/config.js';

const VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];
const RESOURCES: Array<[string, string]> = [
  ['', 'pods'], ['', 'pods/log'], ['', 'configmaps'], ['', 'secrets'], ['batch', 'jobs'], ['apps', 'deployments'],
  ['kubeflow.org', 'notebooks'], ['kubeflow.org', 'pytorchjobs'], ['ray.io', 'rayclusters'], ['iam.gatehouse.dev', 'rolebindings'],
];

/** A deterministic pool of distinct review bodies (users, teams, namespaces, verbs vary). */
export function sarBodies(count: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const team = `team-${i % 20}`;
    const [group, resourcePath] = RESOURCES[i % RESOURCES.length]!;
    const [resource, subresource] = resourcePath.split('/');
    const ra: Record<string, string> = { namespace: `${team}-dev`, verb: VERBS[(i * 7) % VERBS.length]!, group, version: 'v1', resource: resource! };
    if (subresource) ra['subresource'] = subresource;
    if (i % 3 === 0) ra['name'] = `run-${i}-7f9c4d8b5-x2k9q`;
    const body = {
      kind: 'SubjectAccessReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec: {
        resourceAttributes: ra,
        user: `user-${i % 500}@ml-platform.example.com`,
        groups: [`oidc:${team}`, 'oidc:ml-researchers', 'oidc:gpu-users', 'oidc:everyone', 'system:authenticated'],
        extra: {
          'authentication.kubernetes.io/credential-id': [`JTI=${(i * 2654435761 >>> 0).toString(16)}-4b1e-9c3a-${i.toString(16).padStart(12, '0')}`],
          scopes: ['openid', 'profile', 'email', 'groups', 'offline_access'],
          'authentication.kubernetes.io/pod-name': [`jupyter-user-${i % 500}-0`],
          'authentication.kubernetes.io/pod-uid': [`8f14e45f-ceea-467f-a0e6-${i.toString(16).padStart(12, '0')}`],
          'iam.example.com/session': [`sess-${'ab'.repeat(40)}`],
        },
        uid: `0a1b2c3d-${i.toString(16).padStart(4, '0')}-4e5f-8a9b-0c1d2e3f4a5b`,
      },
      status: { allowed: false },
    };
    out.push(JSON.stringify(body));
  }
  return out;
}

/**
 * Until the core's decide() is wired in, a stand-in of similar shape: a user's teams, then a
 * map lookup per (team, resource, verb).
 */
export function makeFakeAuthorize(): (req: AccessRequest) => Decision {
  const grants = new Set<string>();
  for (let t = 0; t < 20; t++) {
    for (const [group, res] of RESOURCES) {
      for (const verb of ['get', 'list', 'watch']) grants.add(`team-${t}-dev|${group}|${res}|${verb}`);
    }
    grants.add(`team-${t}-dev|batch|jobs|create`);
  }
  return (req) => {
    const r = req.resource;
    if (!r) return { verdict: 'noOpinion', code: 'noMatch', reason: 'no rule matches' };
    const res = r.subresource ? `${r.resource}/${r.subresource}` : r.resource;
    if (grants.has(`${r.namespace ?? ''}|${r.group}|${res}|${r.verb}`)) {
      return { verdict: 'allow', code: 'binding', reason: `role viewer via binding ${r.namespace}-viewers (Team) in namespace ${r.namespace}` };
    }
    return { verdict: 'noOpinion', code: 'noMatch', reason: 'no rule matches' };
  };
}

/**
 * A platform-sized world for the real decide(): 2,000 users (the bodies use 500 of them), 50 teams
 * with OIDC groups and namespaces, 40 roles with includes, and about 2,600 bindings (per team, per
 * user, per group, a few cluster-wide and a few expiring).
 */
export function makeWorld(): World {
  const users: User[] = [];
  const roles: Role[] = [];
  const teams: Team[] = [];
  const bindings: RoleBinding[] = [];
  const namespaces: Namespace[] = [];
  const meta = (name: string): { name: string } => ({ name });
  for (let i = 0; i < 2000; i++) {
    const state = i % 97 === 13 ? 'Suspended' : i % 89 === 7 ? 'Pending' : 'Active';
    users.push({ metadata: meta(`user-${i}`), spec: { username: `user-${i}@ml-platform.example.com`, state, superuser: i === 1999 } });
  }
  roles.push({ metadata: meta('viewer'), spec: { permissions: ['pods:read', 'pods/log:read', 'configmaps:read', 'jobs:read', 'deployments:read', 'kubeflow.org/*:read', 'ray.io/*:read'] } });
  roles.push({ metadata: meta('researcher'), spec: { permissions: ['jobs:*', 'pods:*', 'kubeflow.org/notebooks:*', 'kubeflow.org/pytorchjobs:*', 'ray.io/rayclusters:*', 'me'], includes: ['viewer'] } });
  roles.push({ metadata: meta('team-admin'), spec: { permissions: ['*:*'], canAssign: ['viewer', 'researcher'], includes: ['researcher'] } });
  for (let r = 0; r < 37; r++) {
    roles.push({ metadata: meta(`custom-${r}`), spec: { permissions: [`custom${r}.example.com/widgets:read`, `custom${r}.example.com/gadgets:*`, 'secrets:get', `deployments:${VERBS[r % VERBS.length]}`], includes: r % 3 === 0 ? ['viewer'] : [] } });
  }
  for (let t = 0; t < 50; t++) {
    const members = Array.from({ length: 40 }, (_, k) => `user-${(t * 37 + k * 11) % 2000}`);
    teams.push({ metadata: meta(`team-${t}`), spec: { members, groups: [`oidc:team-${t}`], namespaces: [`team-${t}-dev`, `team-${t}-prod`] } });
    namespaces.push({ metadata: { name: `team-${t}-dev`, labels: { 'iam.gatehouse.dev/team': `team-${t}` } } } as Namespace);
    bindings.push({ metadata: meta(`team-${t}-researchers`), spec: { role: 'researcher', subjects: [{ kind: 'Team', name: `team-${t}` }], scope: { teams: [`team-${t}`] } } });
    bindings.push({ metadata: meta(`team-${t}-admins`), spec: { role: 'team-admin', subjects: [{ kind: 'User', name: `user-${t * 40}` }], scope: { teams: [`team-${t}`] } } });
    bindings.push({ metadata: meta(`team-${t}-oidc`), spec: { role: 'viewer', subjects: [{ kind: 'Group', name: `oidc:team-${t}` }], scope: { namespaces: [`team-${t}-dev`] } } });
  }
  for (let b = 0; b < 2500; b++) {
    const expiresAt = b % 10 === 0 ? new Date(Date.now() + (b % 20 === 0 ? -1 : 1) * 86_400_000).toISOString() : undefined;
    bindings.push({
      metadata: meta(`grant-${b}`),
      spec: { role: `custom-${b % 37}`, subjects: [{ kind: 'User', name: `user-${(b * 7) % 2000}` }], scope: { namespaces: [`team-${b % 50}-dev`] }, ...(expiresAt ? { expiresAt } : {}) },
    });
  }
  bindings.push({ metadata: meta('everyone-views'), spec: { role: 'viewer', subjects: [{ kind: 'Group', name: 'oidc:everyone' }], scope: { teams: ['team-0'] } } });
  return { users, roles, teams, bindings, namespaces };
}

/** The core's decide() over makeWorld()'s index. */
export function makeRealAuthorize(): { authorize: (req: AccessRequest) => Decision; generation: () => number; index: PermissionIndex } {
  const index = PermissionIndex.build(makeWorld(), parseConfig({}));
  return { authorize: (req) => decide(index, req), generation: () => index.generation, index };
}

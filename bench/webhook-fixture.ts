// What the webhook benchmark decides with and sends: realistic SubjectAccessReview bodies (~1 KB,
// shaped like kube-apiserver's) and the authorize function the server process uses.
import type { AccessRequest, Decision } from '../src/authz/types.js';

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

// The four CRDs against a real kube-apiserver: they install, accept valid objects, and the
// apiserver itself rejects objects that break the schema.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ControlPlane } from '../../src/controlplane/controlplane.js';
import { crdDir } from '../../src/api/crds.js';

let cp: ControlPlane;

before(async () => {
  cp = await ControlPlane.start();
  await cp.kubectlOk(['apply', '-f', crdDir()]);
  await cp.kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', 'crd',
    'users.iam.gatehouse.dev', 'roles.iam.gatehouse.dev', 'teams.iam.gatehouse.dev', 'rolebindings.iam.gatehouse.dev']);
});

after(async () => {
  await cp?.stop();
});

const valid = `
apiVersion: iam.gatehouse.dev/v1alpha1
kind: User
metadata: {name: alice}
spec: {username: alice@example.com, email: alice@example.com, displayName: Alice, state: Active}
---
apiVersion: iam.gatehouse.dev/v1alpha1
kind: Role
metadata: {name: researcher}
spec:
  description: Can submit ML workloads
  permissions: ["jobs:*", "workspaces:*", "projects:read", "kubeflow.org/notebooks:create", "me"]
  rules: [{apiGroups: [""], resources: [pods/log], verbs: [get]}]
  includes: [viewer]
  canAssign: [viewer]
---
apiVersion: iam.gatehouse.dev/v1alpha1
kind: Team
metadata: {name: vision}
spec: {description: Computer vision group, members: [alice], groups: ["oidc:vision"], namespaces: [vision-dev]}
---
apiVersion: iam.gatehouse.dev/v1alpha1
kind: RoleBinding
metadata: {name: vision-researchers}
spec:
  role: researcher
  subjects: [{kind: Team, name: vision}, {kind: Group, name: "oidc:ml"}]
  scope: {teams: [vision]}
  expiresAt: "2030-12-31T00:00:00Z"
`;

test('a valid object of each kind is accepted', async () => {
  const out = await cp.kubectlOk(['apply', '-f', '-'], { input: valid });
  for (const name of ['user.iam.gatehouse.dev/alice', 'role.iam.gatehouse.dev/researcher', 'team.iam.gatehouse.dev/vision', 'rolebinding.iam.gatehouse.dev/vision-researchers']) {
    assert.match(out, new RegExp(`${name.replace(/\./g, '\\.')} created`));
  }
});

const invalid: Array<{ why: string; yaml: string; message: RegExp }> = [
  {
    why: 'unknown user state',
    yaml: 'apiVersion: iam.gatehouse.dev/v1alpha1\nkind: User\nmetadata: {name: bob}\nspec: {state: Sleeping}\n',
    message: /spec\.state: Unsupported value: "Sleeping"/,
  },
  {
    why: 'RoleBinding without a role',
    yaml: 'apiVersion: iam.gatehouse.dev/v1alpha1\nkind: RoleBinding\nmetadata: {name: rb1}\nspec: {subjects: [{kind: User, name: a}], scope: {cluster: true}}\n',
    message: /spec\.role: Required value/,
  },
  {
    why: 'permissions of the wrong type',
    yaml: 'apiVersion: iam.gatehouse.dev/v1alpha1\nkind: Role\nmetadata: {name: r1}\nspec: {permissions: "jobs:*"}\n',
    message: /spec\.permissions: Invalid value: "string": spec\.permissions in body must be of type array/,
  },
  {
    why: 'two scope kinds at once',
    yaml: 'apiVersion: iam.gatehouse.dev/v1alpha1\nkind: RoleBinding\nmetadata: {name: rb2}\nspec: {role: r, subjects: [{kind: User, name: a}], scope: {cluster: true, namespaces: [x]}}\n',
    message: /spec\.scope/,
  },
  {
    why: 'a subject of an unknown kind',
    yaml: 'apiVersion: iam.gatehouse.dev/v1alpha1\nkind: RoleBinding\nmetadata: {name: rb3}\nspec: {role: r, subjects: [{kind: Robot, name: a}], scope: {cluster: true}}\n',
    message: /spec\.subjects(\[0\])?\.kind: Unsupported value: "Robot"/,
  },
  {
    why: 'cluster: false',
    yaml: 'apiVersion: iam.gatehouse.dev/v1alpha1\nkind: RoleBinding\nmetadata: {name: rb4}\nspec: {role: r, subjects: [{kind: User, name: a}], scope: {cluster: false}}\n',
    message: /spec\.scope\.cluster: Unsupported value: false/,
  },
];

for (const c of invalid) {
  // --validate=false: the apiserver, not kubectl's client-side check, must be the one to refuse.
  test(`the apiserver rejects ${c.why}`, async () => {
    const res = await cp.kubectl(['create', '--validate=false', '-f', '-'], { input: c.yaml });
    assert.notEqual(res.code, 0, 'kubectl must fail');
    assert.match(res.stderr, /is invalid/);
    assert.match(res.stderr, c.message);
  });
}

test('kubectl get gatehouse lists all four kinds with their printer columns', async () => {
  const out = await cp.kubectlOk(['get', 'gatehouse']);
  assert.match(out, /user\.iam\.gatehouse\.dev\/alice/);
  assert.match(out, /role\.iam\.gatehouse\.dev\/researcher/);
  assert.match(out, /team\.iam\.gatehouse\.dev\/vision/);
  assert.match(out, /rolebinding\.iam\.gatehouse\.dev\/vision-researchers/);
  assert.match(out, /USERNAME\s+EMAIL\s+STATE\s+SUPERUSER\s+READY\s+HERE\s+AGE/);
  assert.match(out, /DESCRIPTION\s+PERMISSIONS\s+READY\s+AGE/);
  assert.match(out, /MEMBERS\s+NAMESPACES\s+READY\s+AGE/);
  assert.match(out, /ROLE\s+SCOPE\s+SUBJECTS\s+EXPIRES\s+READY\s+HERE\s+AGE/);
  assert.match(out, /alice@example\.com\s+alice@example\.com\s+Active/);
  const short = await cp.kubectlOk(['get', 'ghuser,ghrole,ghteam,ghrb', '-o', 'name']);
  assert.equal(short.trim().split('\n').length, 4);
});

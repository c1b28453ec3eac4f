import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { atomCovers, atomMatchesPath, atomMatchesResource, compileRule, formatAtom, parsePermission } from '../../../src/authz/permission.js';
import type { ResourceTarget } from '../../../src/authz/permission.js';
import { PermissionSyntaxError } from '../../../src/errors.js';

describe('parsePermission: what each form grants', () => {
  const target = (s: string): ResourceTarget => {
    // "verb group/resource/sub name" with "-" for the core group
    const [verb, g, rs, name] = s.split(' ') as [string, string, string, string | undefined];
    const [resource, subresource] = rs.split('/') as [string, string | undefined];
    return { verb, group: g === '-' ? '' : g, resource, subresource, name };
  };
  const cases: [perm: string, request: string, matches: boolean][] = [
    ['pods:get', 'get - pods', true],
    ['pods:get', 'list - pods', false],
    ['pods:get', 'get - pods/log', false], // pods does not match pods/log
    ['pods/log:get', 'get - pods/log', true],
    ['pods/log:get', 'get - pods', false],
    ['pods/*:get', 'get - pods/status', true],
    // What `*` does not reach (EXPLICIT_ONLY): a role names these to grant them.
    ['pods/*:get', 'get - pods/exec', false],
    ['*:read', 'get - pods/exec', false],
    ['*:*', 'create - pods/attach', false],
    ['*:*', 'get - nodes/proxy', false],
    ['*/proxy:get', 'get - services/proxy', false],
    ['*:*', 'create - serviceaccounts/token', false],
    ['pods/exec:create', 'create - pods/exec', true],
    ['nodes/proxy:get', 'get - nodes/proxy', true],
    ['secrets:read', 'list - secrets', true],
    ['core/secrets:get', 'get - secrets', true],
    ['*:read', 'get example.com secrets', true], // only the core group's Secrets
    ['*:*', 'get - secrets/x', true],
    ['pods/*:get', 'get - pods', false],
    ['pods:read', 'watch - pods', true],
    ['pods:read', 'create - pods', false],
    ['pods:write', 'deletecollection - pods', true],
    ['pods:write', 'get - pods', false],
    ['pods:*', 'adapt - pods', true],
    ['pods:get', 'get apps pods', true], // no group: any API group
    ['apps/deployments:get', 'get apps deployments', true],
    ['apps/deployments:get', 'get extensions deployments', false],
    ['core/pods:get', 'get - pods', true],
    ['core/pods:get', 'get metrics.k8s.io pods', false],
    ['kubeflow.org/notebooks:create', 'create kubeflow.org notebooks', true],
    ['kubeflow.org/notebooks:create', 'create - notebooks', false],
    ['iam.gatehouse.dev/users:approve', 'approve iam.gatehouse.dev users', true],
    ['*:read', 'get - secrets', false],
    ['*:read', 'get - configmaps', true],
    ['*:read', 'get - pods/log', true], // * is every resource and subresource
    ['*:read', 'delete - secrets', false],
    // Verbs `*` does not reach (EXPLICIT_VERBS, issue 19 finding 4): named, they are granted.
    ['*:*', 'escalate rbac.authorization.k8s.io roles', false],
    ['*:*', 'bind rbac.authorization.k8s.io clusterroles', false],
    ['*:*', 'impersonate - serviceaccounts', false],
    ['*:*', 'impersonate authentication.k8s.io userextras/scopes', false],
    ['*:*', 'approve certificates.k8s.io signers', false],
    ['*:*', 'update certificates.k8s.io certificatesigningrequests/approval', false],
    ['*:*', 'create authorization.k8s.io localsubjectaccessreviews', false],
    ['*:*', 'create authorization.k8s.io subjectaccessreviews', false],
    ['*:*', 'create authorization.k8s.io selfsubjectaccessreviews', true],
    ['*:*', 'get - serviceaccounts', true],
    ['serviceaccounts:*', 'impersonate - serviceaccounts', false],
    ['serviceaccounts:impersonate', 'impersonate - serviceaccounts', true],
    ['rbac.authorization.k8s.io/roles:bind', 'bind rbac.authorization.k8s.io roles', true],
    ['*:*', 'approve iam.gatehouse.dev users', true],
    ['jobs:adapt', 'adapt example.com jobs', true],
    ['jobs:adapt', 'get example.com jobs', false],
    ['*/scale:update', 'update apps deployments/scale', true],
    ['*/scale:update', 'update apps deployments', false],
    ['batch/jobs/status:get', 'get batch jobs/status', true],
  ];
  for (const [perm, request, matches] of cases) {
    it(`${perm} ${matches ? 'grants' : 'does not grant'} ${request}`, () => {
      assert.equal(atomMatchesResource(parsePermission(perm).atom, target(request)), matches);
    });
  }

  it('parses me', () => {
    assert.deepEqual(parsePermission('me').atom, { kind: 'me' });
  });
  it('parses a non-resource path with a trailing prefix *', () => {
    const a = parsePermission('/logs/*:get').atom;
    assert.ok(atomMatchesPath(a, '/logs/kube', 'get'));
    assert.ok(!atomMatchesPath(a, '/metrics', 'get'));
    assert.ok(atomMatchesPath(parsePermission('/healthz:get').atom, '/healthz', 'get'));
    assert.ok(!atomMatchesPath(parsePermission('/healthz:get').atom, '/healthz/etcd', 'get'));
  });
  it('round-trips through formatAtom', () => {
    for (const p of ['core/pods:get', 'apps/deployments:create,delete', '*:*', '*/scale:get', 'pods/log:get', '/metrics*:get', 'me']) {
      const a = parsePermission(p).atom;
      assert.deepEqual(parsePermission(formatAtom(a)).atom, a, p);
    }
  });
});

describe('parsePermission: errors name the string and the problem', () => {
  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['pods', /missing ":action"/],
    ['pods:', /action after ":" is empty/],
    [':get', /resource before ":" is empty/],
    ['Pods:get', /not a lowercase resource name/],
    ['pods:GET', /not a verb/],
    ['a/b/c/d:get', /too many "\/"/],
    ['pods :get', /no spaces/],
    ['pods/:get', /subresource is empty/],
    ['apps/:get', /resource is empty/],
    ['/logs/*/x:get', /\* only as its last/],
    ['Bad_Group.io/x:get', /not a valid group name/],
  ];
  for (const [text, problem] of bad) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      assert.throws(
        () => parsePermission(text),
        (err: unknown) => {
          assert.ok(err instanceof PermissionSyntaxError);
          assert.equal(err.code, 'GH_PERMISSION_INVALID');
          assert.equal(err.permission, text);
          assert.ok(err.message.includes(JSON.stringify(text)), err.message);
          assert.match(err.message, problem);
          return true;
        },
      );
    });
  }
});

describe('compileRule: Kubernetes-style PolicyRules', () => {
  const grants = (rule: Parameters<typeof compileRule>[0], t: ResourceTarget) => compileRule(rule).some((p) => atomMatchesResource(p.atom, t));
  it('"" is the core group and * every group', () => {
    assert.ok(grants({ apiGroups: [''], resources: ['pods'], verbs: ['get'] }, { verb: 'get', group: '', resource: 'pods' }));
    assert.ok(!grants({ apiGroups: [''], resources: ['pods'], verbs: ['get'] }, { verb: 'get', group: 'apps', resource: 'pods' }));
    assert.ok(grants({ apiGroups: ['*'], resources: ['pods'], verbs: ['get'] }, { verb: 'get', group: 'apps', resource: 'pods' }));
  });
  it('resource/subresource, and pods not matching pods/log', () => {
    const rule = { apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get'] };
    assert.ok(grants(rule, { verb: 'get', group: '', resource: 'pods', subresource: 'log' }));
    assert.ok(!grants({ apiGroups: [''], resources: ['pods'], verbs: ['get'] }, { verb: 'get', group: '', resource: 'pods', subresource: 'log' }));
  });
  it('resourceNames restrict to named objects', () => {
    const rule = { apiGroups: [''], resources: ['configmaps'], verbs: ['get'], resourceNames: ['cfg'] };
    assert.ok(grants(rule, { verb: 'get', group: '', resource: 'configmaps', name: 'cfg' }));
    assert.ok(!grants(rule, { verb: 'get', group: '', resource: 'configmaps', name: 'other' }));
    assert.ok(!grants(rule, { verb: 'get', group: '', resource: 'configmaps' }));
  });
  it('verbs * and aliases', () => {
    assert.ok(grants({ apiGroups: ['apps'], resources: ['*'], verbs: ['*'] }, { verb: 'patch', group: 'apps', resource: 'deployments', subresource: 'scale' }));
    assert.ok(grants({ apiGroups: ['apps'], resources: ['deployments'], verbs: ['read'] }, { verb: 'watch', group: 'apps', resource: 'deployments' }));
  });
  it('nonResourceURLs with a trailing /* prefix', () => {
    const [exact] = compileRule({ nonResourceURLs: ['/healthz'], verbs: ['get'] });
    const [prefix] = compileRule({ nonResourceURLs: ['/metrics/*'], verbs: ['get'] });
    assert.ok(atomMatchesPath(exact!.atom, '/healthz', 'get'));
    assert.ok(!atomMatchesPath(exact!.atom, '/healthz/x', 'get'));
    assert.ok(atomMatchesPath(prefix!.atom, '/metrics/cadvisor', 'get'));
    assert.ok(!atomMatchesPath(prefix!.atom, '/metrics', 'get'));
    assert.ok(!atomMatchesPath(prefix!.atom, '/metrics/cadvisor', 'post'));
  });
  const bad: [Parameters<typeof compileRule>[0], RegExp][] = [
    [{ resources: ['pods'], verbs: ['get'] }, /need apiGroups/],
    [{ apiGroups: [''], verbs: ['get'] }, /must name resources/],
    [{ apiGroups: [''], resources: ['pods'], nonResourceURLs: ['/x'], verbs: ['get'] }, /not both/],
    [{ apiGroups: [''], resources: ['pods'], verbs: [] }, /at least one verb/],
    [{ apiGroups: [''], resources: ['pods/a/b'], verbs: ['get'] }, /more than one/],
    [{ nonResourceURLs: ['healthz'], verbs: ['get'] }, /must start with \//],
  ];
  for (const [rule, problem] of bad) {
    it(`rejects ${JSON.stringify(rule)}`, () => {
      assert.throws(() => compileRule(rule, 3), (err: unknown) => err instanceof PermissionSyntaxError && problem.test(err.message) && err.message.includes('rules[3]'));
    });
  }
});

describe('atomCovers: a wildcard covers a narrower permission, never the reverse', () => {
  const cases: [held: string, wanted: string, covers: boolean][] = [
    ['*:*', 'pods:get', true],
    ['*:*', 'secrets:get', false],
    ['*:*', 'pods/exec:create', false],
    ['pods/*:*', 'pods/exec:create', false],
    ['secrets:*', 'secrets:get', true],
    ['*:*', '*:read', true],
    ['*:*', 'pods/*:get', true],
    ['*:read', 'pods:get', true],
    ['pods:get', 'pods:read', false],
    ['pods:read', 'pods:get', true],
    ['pods:*', 'pods:adapt', true],
    ['pods:write', 'pods:*', false],
    ['pods:*', 'pods/log:get', false],
    ['pods/*:get', 'pods/log:get', true],
    ['pods/log:get', 'pods/*:get', false],
    ['pods:get', 'core/pods:get', true],
    ['core/pods:get', 'pods:get', false],
    ['*:get', '*/scale:get', true],
    ['*/scale:get', '*:get', false],
    ['me', 'me', true],
    ['*:*', 'me', false],
    ['/metrics*:get', '/metrics/x:get', true],
    ['/metrics:get', '/metrics*:get', false],
    ['iam.gatehouse.dev/*:*', 'iam.gatehouse.dev/rolebindings:create', true],
  ];
  for (const [held, wanted, covers] of cases) {
    it(`${held} ${covers ? 'covers' : 'does not cover'} ${wanted}`, () => {
      assert.equal(atomCovers(parsePermission(held).atom, parsePermission(wanted).atom), covers);
    });
  }
});

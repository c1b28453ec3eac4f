// Each preset against its seed, cell by cell. The Run:ai table below is the seed's text
// (seeds/002_142bca3e10b5fa9b.txt) pasted verbatim and parsed here, so a transcription slip in
// src/authz/presets.ts shows up as a failing cell.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PermissionIndex } from '../../../src/authz/index.js';
import { decide } from '../../../src/authz/decide.js';
import { canAssign } from '../../../src/authz/queries.js';
import { PRESETS, presetRoles } from '../../../src/authz/presets.js';
import { LABELS } from '../../../src/api/types.js';
import type { AccessRequest } from '../../../src/authz/types.js';
import { binding, policy, req, team, user } from '../../support/authz.js';
import { ENTITY_RESOURCES, RUNAI_ROLES, RUNAI_SEED } from '../../support/runai-seed.js';
import { roleDiagnostics } from '../../../src/controller/diagnostics.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const ALL = { zenml: true, runai: true, adaptive: true };

/** An index where user `u-<role>` holds `<role>` cluster-wide. */
function indexFor(roles: string[], extra: Parameters<typeof PermissionIndex.build>[0] = {}) {
  return PermissionIndex.build(
    {
      users: [...roles.map((r) => user(`u-${r}`)), ...(extra.users ?? [])],
      roles: presetRoles(ALL),
      teams: extra.teams ?? [],
      bindings: [...roles.map((r) => binding(`b-${r}`, r, [`u-${r}`], { cluster: true })), ...(extra.bindings ?? [])],
    },
    policy(),
    () => NOW,
  );
}
const allowed = (index: PermissionIndex, r: AccessRequest) => decide(index, r).verdict === 'allow';

describe('presets: data and labels', () => {
  it('labels every role with its preset and only enabled presets', () => {
    const roles = presetRoles({ zenml: true, runai: false, adaptive: true });
    assert.deepEqual(roles.map((r) => r.metadata.name), ['zenml-admin', 'zenml-guest', 'adaptive-admin', 'adaptive-platform-admin']);
    for (const r of roles) assert.ok(r.metadata.labels?.[LABELS.preset]);
    assert.equal(roles[0]!.metadata.labels![LABELS.preset], 'zenml');
  });
  it('every preset permission parses', () => {
    const index = indexFor([]);
    for (const preset of Object.values(PRESETS)) for (const name of Object.keys(preset)) assert.deepEqual(roleDiagnostics(index, name)?.invalidPermissions, [], name);
  });
});

describe('preset zenml (seeds/001: admin = read, write, me; guest = read, me)', () => {
  const index = indexFor(['zenml-admin', 'zenml-guest']);
  const rows: [role: string, read: boolean, write: boolean, me: boolean][] = [
    ['zenml-admin', true, true, true],
    ['zenml-guest', true, false, true],
  ];
  for (const [r, read, write, me] of rows) {
    it(`${r}: read ${read}, write ${write}, me ${me}`, () => {
      const u = `u-${r}`;
      for (const verb of ['get', 'list', 'watch']) assert.equal(allowed(index, req(u, `${verb} stacks`, 'ns1')), read, verb);
      assert.equal(allowed(index, req(u, 'get configmaps', 'ns1')), read, 'every resource');
      // `*` does not reach Secrets or exec (EXPLICIT_ONLY): the admin names them, the guest does not.
      assert.equal(allowed(index, req(u, 'get secrets', 'ns1')), write, 'Secrets: admin only');
      assert.equal(allowed(index, req(u, 'create pods/exec', 'ns1')), write, 'exec: admin only');
      for (const verb of ['create', 'update', 'patch', 'delete', 'deletecollection']) assert.equal(allowed(index, req(u, `${verb} pipelines`, 'ns1')), write, verb);
      assert.equal(decide(index, req(u, 'patch iam.gatehouse.dev/users', undefined, { name: u })).verdict, me ? 'allow' : 'noOpinion', 'me');
      assert.equal(allowed(index, req(u, 'escalate stacks', 'ns1')), false, 'read and write are not every verb');
    });
  }
});



const RUNAI_COLUMNS = RUNAI_ROLES;
const VERBS: Record<string, string[]> = { R: ['get', 'list', 'watch'], CRUD: ['create', 'get', 'list', 'watch', 'update', 'patch', 'delete'], 'N/A': [] };
const EVERY_VERB = ['create', 'get', 'list', 'watch', 'update', 'patch', 'delete', 'deletecollection'];

describe('preset runai (seeds/002), every cell of the table', () => {
  const index = indexFor(RUNAI_COLUMNS);
  const lines = RUNAI_SEED.split('\n').slice(3); // entity rows; the two assignment rows are tested below
  for (const line of lines) {
    const entity = Object.keys(ENTITY_RESOURCES).find((e) => line.startsWith(`${e} `))!;
    const cells = line.slice(entity.length + 1).split(' ');
    it(`${entity}: ${cells.join(' | ')}`, () => {
      assert.equal(cells.length, 7, 'seven columns');
      const [resource, subresource] = ENTITY_RESOURCES[entity]!.split('/') as [string, string | undefined];
      cells.forEach((cell, col) => {
        const u = `u-${RUNAI_COLUMNS[col]}`;
        for (const verb of EVERY_VERB) {
          const want = VERBS[cell]!.includes(verb);
          const r: AccessRequest = { user: u, groups: [], resource: { verb, group: 'run.ai', resource, ...(subresource ? { subresource } : {}), namespace: 'runai-p1' } };
          assert.equal(allowed(index, r), want, `${RUNAI_COLUMNS[col]} ${verb} ${ENTITY_RESOURCES[entity]} (cell ${cell})`);
        }
      });
    });
  }

  it('Assign to Roles: Admin CRUD (all roles); Dep. Admin CRUD (Researchers and ML Engineers only); others N/A', () => {
    const idx = indexFor(RUNAI_COLUMNS, { teams: [team('dept-x', { namespaces: ['p1'] })] });
    for (const verb of EVERY_VERB.filter((v) => v !== 'deletecollection')) {
      const r = req('', `${verb} iam.gatehouse.dev/rolebindings`, undefined, { name: 'x' });
      RUNAI_COLUMNS.forEach((col, i) => {
        const want = i <= 1;
        assert.equal(allowed(idx, { ...r, user: `u-${col}` }), want, `${col} ${verb} rolebindings`);
      });
    }
    for (const target of RUNAI_COLUMNS) {
      assert.equal(canAssign(idx, { user: 'u-runai-admin', groups: [] }, target, { cluster: true }).allowed, true, `admin assigns ${target}`);
      const dept = canAssign(idx, { user: 'u-runai-department-admin', groups: [] }, target, { teams: ['dept-x'] });
      // Through canAssign exactly Researcher and ML Engineer; a role whose permissions the Department
      // Admin holds anyway (itself, Research Manager) is assignable by docs/design.md's other no-escalation rule.
      const expected = { 'runai-researcher': 'canAssign', 'runai-ml-engineer': 'canAssign', 'runai-department-admin': 'holdsPermissions', 'runai-research-manager': 'holdsPermissions' }[target] ?? null;
      assert.equal(dept.via, expected, `dept admin assigns ${target}: ${dept.reason}`);
      for (const other of RUNAI_COLUMNS.slice(2)) {
        const c = canAssign(idx, { user: `u-${other}`, groups: [] }, target, { teams: ['dept-x'] });
        assert.equal(c.via === 'canAssign', false, `${other} has no canAssign for ${target}`);
      }
    }
  });

  it('a Department Admin bound in a department assigns only inside it', () => {
    const idx = indexFor([], {
      users: [user('da')],
      teams: [team('dept-x', { namespaces: ['p1'] }), team('dept-y', { namespaces: ['p2'] })],
      bindings: [binding('da-x', 'runai-department-admin', ['da'], { teams: ['dept-x'] })],
    });
    assert.equal(canAssign(idx, { user: 'da', groups: [] }, 'runai-researcher', { teams: ['dept-x'] }).allowed, true);
    assert.equal(canAssign(idx, { user: 'da', groups: [] }, 'runai-researcher', { teams: ['dept-y'] }).allowed, false);
    assert.equal(decide(idx, req('da', 'create iam.gatehouse.dev/rolebindings')).code, 'delegated');
  });

  it('Assign to Organizations: Admin R (Projects, Departments); Dep. Admin CRUD (Projects only); Editor CRUD (Projects, Departments)', () => {
    const expect: Record<string, Record<string, string>> = {
      'projects/members': { 'runai-admin': 'R', 'runai-department-admin': 'CRUD', 'runai-editor': 'CRUD' },
      'departments/members': { 'runai-admin': 'R', 'runai-editor': 'CRUD' },
    };
    for (const [target, row] of Object.entries(expect)) {
      const [resource, subresource] = target.split('/') as [string, string];
      for (const col of RUNAI_COLUMNS) {
        for (const verb of EVERY_VERB) {
          const want = VERBS[row[col] ?? 'N/A']!.includes(verb);
          assert.equal(allowed(index, { user: `u-${col}`, groups: [], resource: { verb, group: '', resource, subresource, namespace: 'n' } }), want, `${col} ${verb} ${target}`);
        }
      }
    }
  });
});

describe('preset adaptive (seeds/004)', () => {
  const index = indexFor(['adaptive-admin', 'adaptive-platform-admin']);
  it('Admin: "granted all permissions"', () => {
    for (const r of [req('u-adaptive-admin', 'adapt use_cases', 'team-a'), req('u-adaptive-admin', 'delete nodes'), req('u-adaptive-admin', 'get /metrics'), req('u-adaptive-admin', 'create iam.gatehouse.dev/roles')]) {
      assert.equal(decide(index, r).verdict, 'allow', JSON.stringify(r));
    }
  });
  it('Platform Admin: manage roles, teams and users (admin:manage_*), nothing else', () => {
    for (const res of ['roles', 'teams', 'users', 'rolebindings']) {
      for (const verb of ['create', 'list', 'update', 'delete']) assert.equal(allowed(index, req('u-adaptive-platform-admin', `${verb} iam.gatehouse.dev/${res}`)), true, `${verb} ${res}`);
    }
    assert.equal(allowed(index, req('u-adaptive-platform-admin', 'adapt use_cases', 'team-a')), false);
    assert.equal(allowed(index, req('u-adaptive-platform-admin', 'get pods', 'team-a')), false);
  });
});

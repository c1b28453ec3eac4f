// The team tree (issue 22): a teams scope covers the subtree, membership does not flow, admission
// refuses cycles, depth beyond teams.maxDepth and budgets that do not fit, and delegation is bounded
// to the subtree the delegate administers (through the one no-escalation rule).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateAdmission, toMessage } from '../../../src/admission/validate.js';
import { decide } from '../../../src/authz/decide.js';
import { whoCan } from '../../../src/authz/queries.js';
import { presetRoles } from '../../../src/authz/presets.js';
import { compileRbac } from '../../../src/rbac/compile.js';
import { indexSource } from '../../../src/rbac/source.js';
import type { World } from '../../../src/authz/index.js';
import type { AdmissionInput } from '../../../src/admission/types.js';
import { binding, ns, req, role, team, user } from '../../support/authz.js';
import { as, context, create, edit, update, NOW } from '../../support/admission.js';
import { LABELS } from '../../../src/api/types.js';

const GPU = 'requests.nvidia.com/gpu';
const runai = presetRoles({ zenml: false, runai: true, adaptive: false });

function world(): World {
  return {
    users: [user('boss', { superuser: true }), user('dana'), user('pia'), user('rita'), user('omar')],
    roles: [...runai, role('reader', ['pods:read']), role('big', ['*:*'])],
    teams: [
      team('ml', { quota: { hard: { [GPU]: 8 } } }),
      team('ml-a', { parent: 'ml', members: ['pia'], quota: { hard: { [GPU]: 4 } } }),
      team('ml-b', { parent: 'ml', quota: { hard: { [GPU]: 4 } } }),
      team('ml-a-x', { parent: 'ml-a' }),
      team('cv', {}),
    ],
    namespaces: [ns('ml-ns'), ns('a-ns', { [LABELS.team]: 'ml-a' }), ns('x-ns', { [LABELS.team]: 'ml-a-x' }), ns('b-ns', { [LABELS.team]: 'ml-b' }), ns('cv-ns', { [LABELS.team]: 'cv' })],
    bindings: [
      binding('dana-dept', 'runai-department-admin', ['dana'], { teams: ['ml'] }),
      binding('omar-cv', 'runai-department-admin', ['omar'], { teams: ['cv'] }),
      binding('ml-readers', 'reader', ['rita'], { teams: ['ml'] }),
    ],
  };
}

function check(input: AdmissionInput, expect: 'allow' | string, ctx = context(world())): string {
  const res = validateAdmission(input, ctx);
  const msg = toMessage(res);
  if (expect === 'allow') assert.equal(res.allowed, true, msg);
  else {
    assert.equal(res.allowed, false, `expected ${expect}`);
    assert.ok(res.errors.some((e) => e.rule === expect), `expected ${expect}, got ${msg}`);
  }
  return [msg, ...res.warnings].join('\n');
}

describe('team tree: scopes cover the subtree', () => {
  const ctx = context(world());
  it('a binding scoped to a department covers the namespaces of every team below it', () => {
    for (const n of ['a-ns', 'x-ns', 'b-ns']) assert.equal(decide(ctx.index, req('rita', 'get pods', n)).verdict, 'allow', n);
    assert.match(decide(ctx.index, req('rita', 'get pods', 'x-ns')).reason, /scope team ml/);
    assert.notEqual(decide(ctx.index, req('rita', 'get pods', 'cv-ns')).verdict, 'allow');
  });
  it('membership does not flow: a member of a project is no member of its department', () => {
    assert.deepEqual([...ctx.index.teamsOf(ctx.index.userRecord('pia')!, [])], ['ml-a']);
  });
  it('who-can and the RBAC compiler see the subtree too', () => {
    const who = whoCan(ctx.index, { verb: 'get', group: '', resource: 'pods', namespace: 'x-ns' }, NOW);
    assert.ok(JSON.stringify(who).includes('rita'));
    const rbac = compileRbac(indexSource(ctx.index), { now: NOW });
    const namespaces = [...rbac.objects.values()].filter((o) => o.metadata.name === 'gatehouse:binding:ml-readers').map((o) => o.metadata.namespace).sort();
    assert.deepEqual(namespaces, ['a-ns', 'b-ns', 'x-ns']);
  });
  it('a move of a subtree changes what the old and new ancestors cover, incrementally', () => {
    const c = context(world());
    c.index.apply({ op: 'upsert', kind: 'Team', object: team('ml-a', { parent: 'cv', members: ['pia'] }) });
    assert.notEqual(decide(c.index, req('rita', 'get pods', 'x-ns')).verdict, 'allow');
    c.index.apply({ op: 'upsert', kind: 'Team', object: team('ml-a', { parent: 'ml', members: ['pia'] }) });
    assert.equal(decide(c.index, req('rita', 'get pods', 'x-ns')).verdict, 'allow');
  });
});

describe('team tree: admission', () => {
  it('refuses a cycle, names the path', () => {
    const msg = check(update(team('ml', {}), team('ml', { parent: 'ml-a-x' }), as('boss')), 'team-tree');
    assert.match(msg, /cycle: ml -> ml-a-x -> ml-a -> ml/);
    check(create(team('self', { parent: 'self' }), as('boss')), 'team-tree');
  });
  it('refuses a tree deeper than teams.maxDepth (the subtree moves with the team)', () => {
    const ctx = context(world(), { teams: { maxDepth: 3 } });
    check(create(team('deep', { parent: 'ml-a-x' }), as('boss')), 'team-tree', ctx);
    check(create(team('ok', { parent: 'ml-a' }), as('boss')), 'allow', ctx);
    check(update(team('cv', {}), team('cv', { parent: 'ml-a' }), as('boss')), 'allow', ctx);
    check(update(team('ml-a', { parent: 'ml', members: ['pia'], quota: { hard: { [GPU]: 4 } } }), team('ml-a', { parent: 'ml-b', members: ['pia'], quota: { hard: { [GPU]: 4 } } }), as('boss')), 'team-tree', ctx);
  });
  it('a missing parent is a warning, not a refusal', () => {
    assert.match(check(create(team('later', { parent: 'not-yet' }), as('boss')), 'allow'), /Team not-yet does not exist \(yet\)/);
  });
  it('refuses a child budget that does not fit the parent, with the figures', () => {
    const msg = check(create(team('ml-c', { parent: 'ml', quota: { hard: { [GPU]: 1 } } }), as('boss')), 'quota-budget');
    assert.match(msg, /Team ml-c asks 1, but parent Team ml has 8 and its other children hold 8 \(0 left\)/);
    check(update(team('ml', { quota: { hard: { [GPU]: 8 } } }), team('ml', { quota: { hard: { [GPU]: 6 } } }), as('boss')), 'quota-budget');
    check(create(team('bad', { quota: { hard: { 'nvidia.com/gpu': 1 } } }), as('boss')), 'invalid-field');
    check(create(team('bad', { quota: { hard: { [GPU]: 'lots' } } }), as('boss')), 'invalid-field');
  });
});

describe('team tree: delegation bounded to the subtree (runai-department-admin)', () => {
  const dana = as('dana');
  it('creates and manages project teams under the department, and binds canAssign roles there', () => {
    check(create(team('ml-c', { parent: 'ml', members: ['pia'] }), dana), 'allow');
    check(create(team('ml-a-y', { parent: 'ml-a', members: ['pia'] }), dana), 'allow');
    check(update(team('ml-a-x', { parent: 'ml-a' }), team('ml-a-x', { parent: 'ml-a', members: ['rita'] }), dana), 'allow');
    check(create(binding('r1', 'runai-researcher', ['pia'], { teams: ['ml-a'] }), dana), 'allow');
    check(create(binding('r2', 'runai-researcher', ['pia'], { namespaces: ['x-ns'] }), dana), 'allow');
    // Budgets of teams below her department are hers to set (within the department's).
    check(update(team('ml-b', { parent: 'ml', quota: { hard: { [GPU]: 4 } } }), team('ml-b', { parent: 'ml', quota: { hard: { [GPU]: 3 } } }), dana), 'allow');
  });
  it('refuses every way out of the subtree', () => {
    check(create(team('cv-p', { parent: 'cv' }), dana), 'delegated-scope'); // another department
    check(create(team('rootless', {}), dana), 'delegated-scope'); // a new root
    check(update(team('ml-a', { parent: 'ml', members: ['pia'], quota: { hard: { [GPU]: 4 } } }), team('ml-a', { parent: 'cv', members: ['pia'], quota: { hard: { [GPU]: 4 } } }), dana), 'delegated-scope'); // re-parent out
    check(update(team('cv', {}), team('cv', { parent: 'ml' }), dana), 'delegated-scope'); // re-parent in
    check(create(binding('r3', 'runai-researcher', ['pia'], { teams: ['cv'] }), dana), 'delegated-scope');
    check(create(binding('r4', 'runai-editor', ['pia'], { teams: ['ml-a'] }), dana), 'no-escalation'); // outside canAssign
    check(create(binding('r5', 'runai-researcher', ['pia'], { cluster: true }), dana), 'delegated-scope');
    check(update(team('ml', { quota: { hard: { [GPU]: 8 } } }), team('ml', { quota: { hard: { [GPU]: 16 } } }), dana), 'delegated-scope'); // her own budget
  });
  it('a project admin cannot move their project to another parent, nor set its budget', () => {
    const w = world();
    w.bindings = [...(w.bindings ?? []), binding('pia-proj', 'runai-department-admin', ['pia'], { teams: ['ml-a'] })];
    const ctx = context(w);
    check(update(team('ml-a-x', { parent: 'ml-a' }), team('ml-a-x', { parent: 'ml-b' }), as('pia')), 'delegated-scope', ctx);
    check(update(team('ml-a', { parent: 'ml', members: ['pia'], quota: { hard: { [GPU]: 4 } } }), team('ml-a', { parent: 'ml', members: ['pia'], quota: { hard: { [GPU]: 3 } } }), as('pia')), 'delegated-scope', ctx);
  });
  it('placing a team under a new parent must not extend that parent\'s bindings beyond what the writer may grant', () => {
    // Someone who may update both subtrees but cannot grant `big`, bound on cv, moves ml-a under cv.
    const w = world();
    w.bindings = [
      ...(w.bindings ?? []),
      binding('cv-big', 'big', ['omar'], { teams: ['cv'] }),
      binding('eve-admin', 'runai-department-admin', ['rita'], { teams: ['ml'] }),
      binding('eve-admin-cv', 'runai-department-admin', ['rita'], { teams: ['cv'] }),
    ];
    const ctx = context(w);
    const moved = edit(team('ml-a', { parent: 'ml', members: ['pia'] }), (t) => { t.spec.parent = 'cv'; });
    check(update(team('ml-a', { parent: 'ml', members: ['pia'] }), moved, as('rita')), 'no-escalation', ctx);
  });
});

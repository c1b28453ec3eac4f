// Property (issue 32, "Must show"): no sequence of writes by a non-superuser ends with anyone
// holding what the writer could not grant. The writes: RoleBindings (created or changed, with and
// without expiresAt), Roles (permissions, includes, canAssign chains), Teams (members, groups,
// namespaces, the configured default team among them), namespace labels (team, visibility, owner)
// and username changes. Each write goes through validateAdmission() against the world as it is;
// what is admitted is applied, and the next write sees it. At the end, at several times (now, and
// after each kind of expiry), every request any identity is newly allowed must be one the writer
// could grant at that time: one they were allowed themselves, or one a role granted that a role of
// theirs listed in canAssign where it holds.
//
// Seeds: a failure prints `replay with GATEHOUSE_PROPERTY_SEED=<seed>`; setting that variable runs
// the same sequence again (GATEHOUSE_PROPERTY_RUNS sets the number of runs, 2,000 by default).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Namespace, RoleBinding, Scope, Subject, User } from '../../../src/api/types.js';
import { effectivePermissions } from '../../../src/authz/queries.js';
import { PermissionIndex, type World } from '../../../src/authz/index.js';
import { decide, prepareTarget, roleGrants } from '../../../src/authz/decide.js';
import type { AccessRequest } from '../../../src/authz/types.js';
import { parseConfig } from '../../../src/config.js';
import { validateAdmission } from '../../../src/admission/validate.js';
import { createPolicyView } from '../../../src/admission/view.js';
import type { AdmissionInput } from '../../../src/admission/types.js';
import { binding, ns, role, team, user } from '../../support/authz.js';
import { NOW, as, create, update } from '../../support/admission.js';

const GH = 'iam.gatehouse.dev';
const POOL = [
  'pods:get', 'pods:*', 'jobs:read', 'secrets:get', 'configmaps:read', '*:get', '*:*',
  `${GH}/rolebindings:*`, `${GH}/rolebindings:create`, `${GH}/roles:*`, `${GH}/teams:*`, `${GH}/users:update`,
];
const ROLES = ['r0', 'r1', 'r2', 'r3', 'r4'];
/** r4 is the writer's delegated-administration role: mostly rights to write Gatehouse's kinds. */
const ADMIN_POOL = [`${GH}/rolebindings:*`, `${GH}/roles:*`, `${GH}/teams:*`, `${GH}/users:update`, 'pods:*', 'configmaps:read', 'secrets:get', '*:*'];
const USERS = ['u0', 'u1', 'u2', 'u3'];
/** Identities without a User: a username change may hand a User to one of them. */
const STRANGERS = ['mallory'];
const IDENTITIES = [...USERS, ...STRANGERS];
const NAMESPACES = ['a', 'b', 'c', 'd'];
const TEAMS = ['t1', 't2'];
const GROUP = 'g1';
/** Who is in group g1 when asking (teams may list the group). */
const groupsOf = (identity: string): string[] => (identity === 'u3' ? [GROUP] : []);
// r0 is every Active user's in the default team t1; r1 in public namespaces; r2 in owned ones.
const config = parseConfig({ defaults: { role: 'r0', team: 't1' }, projects: { publicRole: 'r1', ownerRole: 'r2' } });
/** The times the end state is judged at: now, between the two expiries, and after both. */
const SOON = NOW + 100;
const LATER = NOW + 1000;
const TIMES = [NOW, NOW + 50, NOW + 500, NOW + 5000];
const EXPIRIES = [undefined, undefined, new Date(SOON).toISOString(), new Date(LATER).toISOString(), new Date(NOW - 10).toISOString()];
const RUNS = Number(process.env['GATEHOUSE_PROPERTY_RUNS'] ?? 2000);
const SEED = process.env['GATEHOUSE_PROPERTY_SEED'] !== undefined ? Number(process.env['GATEHOUSE_PROPERTY_SEED']) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;

const scopeArb: fc.Arbitrary<Scope> = fc.oneof(
  fc.constant({ cluster: true }),
  fc.subarray(TEAMS, { minLength: 1 }).map((teams) => ({ teams })),
  fc.subarray(NAMESPACES, { minLength: 1 }).map((namespaces) => ({ namespaces })),
);
const subjectArb: fc.Arbitrary<Subject> = fc.oneof(
  fc.constantFrom(...USERS).map((name) => ({ kind: 'User' as const, name })),
  fc.constantFrom(...TEAMS).map((name) => ({ kind: 'Team' as const, name })),
  fc.constant({ kind: 'Group' as const, name: GROUP }),
);
const bindingSpecArb = fc.record({
  role: fc.constantFrom(...ROLES, 'missing'),
  subjects: fc.uniqueArray(subjectArb, { minLength: 1, maxLength: 2, selector: (s) => `${s.kind}/${s.name}` }),
  scope: scopeArb,
  expiresAt: fc.constantFrom(...EXPIRIES),
});
const bindingArb = (name: string): fc.Arbitrary<RoleBinding> => bindingSpecArb.map((b) => binding(name, b.role, b.subjects, b.scope, b.expiresAt));
const roleSpecArb = fc.record({
  permissions: fc.subarray(POOL, { maxLength: 3 }),
  includes: fc.subarray(ROLES, { maxLength: 1 }),
  canAssign: fc.subarray([...ROLES, 'missing'], { maxLength: 2 }),
});
const teamSpecArb = fc.record({ members: fc.subarray(USERS), groups: fc.subarray([GROUP]), namespaces: fc.subarray(NAMESPACES) });
const labelsArb = fc.record({
  team: fc.constantFrom(undefined, ...TEAMS),
  visibility: fc.constantFrom(undefined, 'public', 'private'),
  owner: fc.constantFrom(undefined, ...USERS),
});
function nsWith(name: string, l: { team: string | undefined; visibility: string | undefined; owner: string | undefined }): Namespace {
  const labels: Record<string, string> = {};
  if (l.team) labels[`${GH}/team`] = l.team;
  if (l.visibility) labels[`${GH}/visibility`] = l.visibility;
  if (l.owner) labels[`${GH}/owner`] = l.owner;
  return ns(name, labels);
}

const adminSpecArb = fc.record({
  permissions: fc.subarray(ADMIN_POOL, { minLength: 2, maxLength: 4 }),
  includes: fc.subarray(ROLES.slice(0, 4), { maxLength: 1 }),
  canAssign: fc.subarray([...ROLES, 'missing'], { maxLength: 2 }),
});
const worldArb: fc.Arbitrary<World> = fc.record({
  roles: fc.tuple(...ROLES.slice(0, 4).map(() => roleSpecArb), adminSpecArb),
  // The writer (u0 most often) holds r4 somewhere, for good or until an expiry.
  boot: fc.record({ scope: scopeArb, expiresAt: fc.constantFrom(undefined, undefined, new Date(SOON).toISOString(), new Date(LATER).toISOString()) }),
  teams: fc.tuple(...TEAMS.map(() => teamSpecArb)),
  bindings: fc.array(fc.nat(), { minLength: 1, maxLength: 6 }).chain((ids) => fc.tuple(...ids.map((_, i) => bindingArb(`b${i}`)))),
  namespaces: fc.tuple(...NAMESPACES.map(() => labelsArb)),
}).map((w) => ({
  roles: ROLES.map((r, i) => role(r, w.roles[i]!.permissions, { includes: w.roles[i]!.includes.filter((x) => x !== r), canAssign: w.roles[i]!.canAssign })),
  users: USERS.map((u) => user(u)),
  teams: TEAMS.map((t, i) => team(t, w.teams[i]!)),
  bindings: [...w.bindings, binding('boot', 'r4', ['u0'], w.boot.scope, w.boot.expiresAt)],
  namespaces: NAMESPACES.map((n, i) => nsWith(n, w.namespaces[i]!)),
}));

/** One write, as data: applied to the world as it is when its turn comes. */
type Write =
  | { kind: 'binding-create'; spec: RoleBinding }
  | { kind: 'binding-update'; pick: number; spec: RoleBinding }
  | { kind: 'role'; name: string; spec: { permissions: string[]; includes: string[]; canAssign: string[] } }
  | { kind: 'team'; name: string; spec: { members: string[]; groups: string[]; namespaces: string[] } }
  | { kind: 'namespace'; name: string; labels: { team: string | undefined; visibility: string | undefined; owner: string | undefined } }
  | { kind: 'username'; name: string; username: string };

const writeArb: fc.Arbitrary<Write> = fc.oneof(
  bindingArb('w').map((spec) => ({ kind: 'binding-create' as const, spec })),
  fc.tuple(fc.nat(), bindingArb('w')).map(([pick, spec]) => ({ kind: 'binding-update' as const, pick, spec })),
  fc.tuple(fc.constantFrom(...ROLES, 'r5'), roleSpecArb).map(([name, spec]) => ({ kind: 'role' as const, name, spec })),
  fc.tuple(fc.constantFrom(...TEAMS), teamSpecArb).map(([name, spec]) => ({ kind: 'team' as const, name, spec })),
  fc.tuple(fc.constantFrom(...NAMESPACES), labelsArb).map(([name, labels]) => ({ kind: 'namespace' as const, name, labels })),
  fc.tuple(fc.constantFrom(...USERS), fc.constantFrom(...IDENTITIES)).map(([name, username]) => ({ kind: 'username' as const, name, username })),
);

/** The admission input for a write in `world`, and the world it leaves if admitted. */
function plan(world: World, w: Write, writer: string, step: number): { input: AdmissionInput; next: World } | undefined {
  const who = as(writer);
  const replace = <T extends { metadata: { name: string } }>(list: readonly T[] | undefined, o: T): T[] => {
    const rest = (list ?? []).filter((x) => x.metadata.name !== o.metadata.name);
    return [...rest, o];
  };
  switch (w.kind) {
    case 'binding-create': {
      const b = structuredClone(w.spec);
      b.metadata.name = `w${step}`;
      return { input: create(b, who), next: { ...world, bindings: [...(world.bindings ?? []), b] } };
    }
    case 'binding-update': {
      const list = world.bindings ?? [];
      if (list.length === 0) return undefined;
      const old = list[w.pick % list.length]!;
      const b = structuredClone(w.spec);
      b.metadata.name = old.metadata.name;
      return { input: update(old, b, who), next: { ...world, bindings: replace(list, b) } };
    }
    case 'role': {
      const old = (world.roles ?? []).find((r) => r.metadata.name === w.name);
      const r = role(w.name, w.spec.permissions, { includes: w.spec.includes.filter((x) => x !== w.name), canAssign: w.spec.canAssign });
      return { input: old ? update(old, r, who) : create(r, who), next: { ...world, roles: replace(world.roles, r) } };
    }
    case 'team': {
      const old = (world.teams ?? []).find((t) => t.metadata.name === w.name)!;
      const t = team(w.name, w.spec);
      return { input: update(old, t, who), next: { ...world, teams: replace(world.teams, t) } };
    }
    case 'namespace': {
      const old = (world.namespaces ?? []).find((n) => n.metadata.name === w.name)!;
      const n = nsWith(w.name, w.labels);
      return { input: update(old, n, who), next: { ...world, namespaces: replace(world.namespaces, n) } };
    }
    case 'username': {
      const old = (world.users ?? []).find((u) => u.metadata.name === w.name)!;
      const u: User = structuredClone(old);
      u.spec.username = w.username;
      return { input: update(old, u, who), next: { ...world, users: replace(world.users, u) } };
    }
  }
}

function samples(identity: string): AccessRequest[] {
  const out: AccessRequest[] = [];
  const groups = groupsOf(identity);
  for (const resource of ['pods', 'jobs', 'secrets', 'configmaps']) {
    for (const verb of ['get', 'create', 'delete']) {
      for (const namespace of [...NAMESPACES, undefined]) {
        out.push({ user: identity, groups, resource: { verb, group: '', resource, ...(namespace ? { namespace } : {}) } });
      }
    }
  }
  for (const resource of ['rolebindings', 'roles', 'teams', 'users']) out.push({ user: identity, groups, resource: { verb: 'update', group: GH, resource } });
  return out;
}

/**
 * What the writer could grant at `time` in the world before the writes: a request they were allowed
 * themselves, or one a role grants that a role of theirs lists in canAssign (own or included) where
 * that role holds. Read from the writer's effective permissions (a query of its own), not from the
 * admission rule under test.
 */
function writerCouldGrant(before: PermissionIndex, writer: string, r: AccessRequest, time: number): boolean {
  if (decide(before, { ...r, user: writer, groups: [] }, { now: time }).verdict === 'allow') return true;
  const eff = effectivePermissions(before, { user: writer, groups: [] }, time);
  if (!eff.active) return false;
  const t = prepareTarget(r);
  if (!t) return false;
  const where = r.resource?.namespace;
  // A write to a Gatehouse kind is allowed to anyone holding it somewhere (delegated
  // administration; admission checks the object's scope), so a role assignable anywhere grants it.
  const delegated = r.resource?.group === GH && where === undefined;
  for (const g of eff.grants) {
    const covers = delegated || g.scope.cluster || (where !== undefined && g.scope.namespaces.includes(where));
    if (!covers) continue;
    for (const target of before.compiledRole(g.role)?.canAssign ?? []) {
      if (roleGrants(before.compiledRole(target), t)) return true;
    }
  }
  return false;
}

/** Whether the username-change rule (a change moves all the User holds) is in this tree. */
function usernameRulePresent(): boolean {
  const world: World = {
    users: [user('holder'), user('changer')],
    roles: [role('strong', ['secrets:get']), role('user-admin', [`${GH}/users:update`])],
    bindings: [binding('s', 'strong', ['holder'], { cluster: true }), binding('ua', 'user-admin', ['changer'], { cluster: true })],
  };
  const index = PermissionIndex.build(world, config, () => NOW);
  const ctx = { config, view: () => createPolicyView(index, () => NOW), now: () => NOW };
  const old = world.users![0]!;
  const moved: User = { ...structuredClone(old), spec: { ...old.spec, username: 'elsewhere' } };
  return !validateAdmission(update(old, moved, as('changer')), ctx).allowed;
}

describe('no escalation through any sequence of delegated writes (property, issue 32)', () => {
  it(`no sequence of writes by a non-superuser ends with anyone holding what the writer could not grant (${RUNS} runs)`, (t) => {
    const usernameRule = usernameRulePresent();
    if (!usernameRule) {
      // Another change brings the rule (issue 32, item 2); until it is in, username writes are
      // generated but not tried, so this property stays about the rules this tree has.
      t.diagnostic('the username-change rule is not in this tree: username-change writes are skipped');
    }
    const stats = { admitted: 0, granted: 0, kinds: new Map<string, number>() };
    const property = fc.property(worldArb, fc.array(writeArb, { minLength: 1, maxLength: 5 }), fc.constantFrom('u0', 'u0', 'u0', ...USERS), (world, writes, writer) => {
      const before = PermissionIndex.build(world, config, () => NOW);
      let current = world;
      let index = before;
      const applied: string[] = [];
      for (const [step, w] of writes.entries()) {
        if (w.kind === 'username' && !usernameRule) continue;
        const planned = plan(current, w, writer, step);
        if (!planned) continue;
        const ctx = { config, view: () => createPolicyView(index, () => NOW), now: () => NOW };
        if (!validateAdmission(planned.input, ctx).allowed) continue;
        stats.admitted++;
        stats.kinds.set(w.kind, (stats.kinds.get(w.kind) ?? 0) + 1);
        applied.push(w.kind);
        current = planned.next;
        index = PermissionIndex.build(current, config, () => NOW);
      }
      if (index === before) return;
      for (const time of TIMES) {
        for (const identity of IDENTITIES) {
          for (const r of samples(identity)) {
            if (decide(index, r, { now: time }).verdict !== 'allow' || decide(before, r, { now: time }).verdict === 'allow') continue;
            stats.granted++;
            assert.ok(writerCouldGrant(before, writer, r, time),
              `${writer}'s admitted writes ${JSON.stringify(applied)} newly allow ${identity} ${JSON.stringify(r.resource)} at now+${time - NOW} ms, which ${writer} could not grant then`);
          }
        }
      }
    });
    try {
      fc.assert(property, { numRuns: RUNS, seed: SEED });
    } catch (err) {
      // fast-check names the seed and the shrunk path too; this line is the one to copy.
      console.error(`replay with GATEHOUSE_PROPERTY_SEED=${SEED}`);
      throw err;
    }
    t.diagnostic(`seed ${SEED}; admitted writes ${stats.admitted} (${[...stats.kinds].map(([k, n]) => `${k} ${n}`).join(', ')}); newly allowed requests checked ${stats.granted}`);
    // Not vacuous: every kind of write got in somewhere, and some of them granted something.
    for (const kind of ['binding-create', 'binding-update', 'role', 'team', 'namespace', ...(usernameRule ? ['username'] : [])]) {
      assert.ok((stats.kinds.get(kind) ?? 0) > 0, `no ${kind} write was admitted`);
    }
    assert.ok(stats.granted > 0, 'no admitted write granted anything');
  });
});

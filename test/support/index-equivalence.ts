// Whether two permission indexes give the same answers: every public read (objects, user records,
// compiled roles, memberships, namespace facts, binding placement as subjects see it, expiry) for
// every name either index has seen, and decide() over a request set built from those names. The
// incremental-update tests compare an index reached by changes with a rebuild from the same objects
// through this, so they check what callers observe, not the index's private layout.
import assert from 'node:assert/strict';
import type { PermissionIndex } from '../../src/authz/index.js';
import { decide } from '../../src/authz/decide.js';
import { formatAtom } from '../../src/authz/permission.js';
import { scopeText } from '../../src/authz/scope.js';
import { usernameOf } from '../../src/authz/rules.js';
import type { AccessRequest } from '../../src/authz/types.js';
import { req } from './authz.js';

const sorted = (it: Iterable<string>): string[] => [...new Set(it)].sort();
const byName = <T extends { metadata: { name: string } }>(xs: T[]): T[] => [...xs].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
const names = (it: Iterable<{ name: string }>): string[] => [...it].map((b) => b.name).sort();

/** What decide() is asked about, on top of every user and namespace the indexes know. */
const TARGETS = [
  'get pods', 'list pods', 'delete jobs', 'get pods/log', 'adapt jobs', 'get apps/deployments',
  'create iam.gatehouse.dev/users', 'update iam.gatehouse.dev/users', 'get iam.gatehouse.dev/users', 'create iam.gatehouse.dev/rolebindings',
  'get /metrics', 'get /healthz', 'get /logs/x',
];

/** Every name either index has seen, by what it names. */
function namesSeen(indexes: readonly PermissionIndex[]): { users: string[]; roles: string[]; teams: string[]; groups: string[]; namespaces: string[]; bindings: string[] } {
  const users = new Set<string>();
  const roles = new Set<string>();
  const teams = new Set<string>();
  const groups = new Set<string>();
  const namespaces = new Set<string>();
  const bindings = new Set<string>();
  for (const index of indexes) {
    for (const u of index.listUsers()) {
      users.add(u.metadata.name);
      users.add(usernameOf(u));
    }
    for (const r of index.listUserRecords()) users.add(r.username);
    for (const r of index.listRoles()) {
      roles.add(r.metadata.name);
      for (const inc of r.spec.includes ?? []) roles.add(inc);
    }
    for (const t of index.listTeams()) {
      teams.add(t.metadata.name);
      for (const m of t.spec.members ?? []) users.add(m);
      for (const g of t.spec.groups ?? []) groups.add(g);
      for (const n of t.spec.namespaces ?? []) namespaces.add(n);
    }
    for (const b of [...index.listBindings(), ...index.bindingsNotInForce()]) {
      bindings.add(b.metadata.name);
      roles.add(b.spec.role);
      for (const s of b.spec.subjects ?? []) (s.kind === 'User' ? users : s.kind === 'Team' ? teams : groups).add(s.name);
      for (const t of b.spec.scope?.teams ?? []) teams.add(t);
      for (const n of b.spec.scope?.namespaces ?? []) namespaces.add(n);
    }
    for (const n of index.listNamespaces()) {
      namespaces.add(n.metadata.name);
      const owner = index.namespaceOwner(n.metadata.name);
      if (owner !== undefined) users.add(owner);
      const label = index.namespaceLabelTeam(n.metadata.name);
      if (label !== undefined) teams.add(label);
    }
  }
  return { users: sorted(users), roles: sorted(roles), teams: sorted(teams), groups: sorted(groups), namespaces: sorted(namespaces), bindings: sorted(bindings) };
}

/** Everything a caller can read from the index, as plain data. */
function answers(index: PermissionIndex, seen: ReturnType<typeof namesSeen>): unknown {
  const now = index.now();
  const recordOf = (username: string) => {
    const r = index.userRecord(username);
    if (!r) return null;
    return {
      name: r.name,
      username: r.username,
      state: r.state,
      superuser: r.superuser,
      seed: r.seed,
      deleting: r.deleting,
      otherCluster: r.otherCluster,
      object: r.object,
      aliases: r.aliases,
      directTeams: sorted(index.directTeams(r)),
      teamsWithGroups: sorted(index.teamsOf(r, seen.groups)),
      owned: sorted(index.namespacesOwnedByUser(r)),
    };
  };
  return {
    synced: index.synced,
    users: byName(index.listUsers()),
    records: index.listUserRecords().map((r) => r.username).sort().map(recordOf),
    roles: byName(index.listRoles()),
    teams: byName(index.listTeams()),
    bindings: byName(index.listBindings()),
    bindingsNotInForce: index.bindingsNotInForce(),
    namespaces: byName(index.listNamespaces()),
    publicNamespaces: index.listPublicNamespaces(),
    nextExpiry: index.nextExpiry(now),
    byUser: seen.users.map((n) => ({
      n,
      user: index.getUser(n) ?? null,
      byUsername: index.getUserByUsername(n) ?? null,
      resolved: index.resolveUser(n)?.metadata.name ?? null,
      record: recordOf(n),
      exists: index.userExists(n),
      seedUsername: index.isSeedUsername(n),
      sameUsername: sorted(index.userNamesWithUsername(n)),
      bindings: names(index.bindingsForSubject('User', n)),
      owns: sorted(index.namespacesOwnedBy(n)),
    })),
    byRole: seen.roles.map((n) => {
      const c = index.compiledRole(n);
      return {
        n,
        role: index.getRole(n) ?? null,
        has: index.hasRole(n),
        bindings: index.bindingsForRole(n),
        compiled: c
          ? { atoms: c.atoms.map((a) => `${a.role}:${formatAtom(a.atom)}:${a.text}`), includes: c.includes, missing: c.missingIncludes, cycle: c.cycle, invalid: c.invalid, canAssign: sorted(c.canAssign), me: c.matcher.me }
          : null,
      };
    }),
    byTeam: seen.teams.map((n) => ({
      n,
      team: index.getTeam(n) ?? null,
      namespaces: sorted(index.teamNamespaces(n)),
      parent: index.teamParent(n) ?? null,
      children: sorted(index.teamChildren(n)),
      ancestors: index.teamAncestorsOrSelf(n),
      subtree: sorted(index.teamSubtree(n)),
      subtreeNamespaces: sorted(index.subtreeNamespaces(n)),
      bindings: names(index.bindingsForSubject('Team', n)),
      owns: seen.namespaces.filter((ns) => index.teamOwnsNamespace(n, ns)),
    })),
    byGroup: seen.groups.map((n) => ({ n, bindings: names(index.bindingsForSubject('Group', n)) })),
    byNamespace: seen.namespaces.map((n) => ({
      n,
      ns: index.getNamespace(n) ?? null,
      teams: sorted(index.namespaceTeams(n)),
      label: index.namespaceLabelTeam(n) ?? null,
      spec: sorted(index.namespaceSpecTeams(n) ?? []),
      owner: index.namespaceOwner(n) ?? null,
      isPublic: index.isPublicNamespace(n),
    })),
    byBinding: seen.bindings.map((n) => {
      const b = index.compiledBinding(n);
      return { n, object: index.getBinding(n) ?? null, notInForce: index.bindingNotInForce(n) ?? null, compiled: b ? { role: b.role, subjects: b.subjects, scope: scopeText(b.scope), expiresAt: b.expiresAt, roleExists: b.roleCell.closure.length > 0 } : null };
    }),
    scopes: index.listCompiledBindings().map((b) => [b.name, [undefined, ...seen.namespaces].map((ns) => index.scopeCovers(b.scope, ns))] as const).sort((a, b) => (a[0] < b[0] ? -1 : 1)),
  };
}

/** decide()'s requests over the names seen: each user (and a stranger), with and without every group, in each namespace and cluster-wide. */
export function requestsOver(indexes: readonly PermissionIndex[]): AccessRequest[] {
  const seen = namesSeen(indexes);
  const out: AccessRequest[] = [];
  for (const u of [...seen.users, 'stranger']) {
    for (const groups of [[], seen.groups]) {
      for (const target of TARGETS) {
        if (target.includes(' /')) {
          out.push(req(u, target, undefined, { groups }));
          continue;
        }
        for (const ns of [undefined, ...seen.namespaces]) out.push(req(u, target, ns, { groups }));
      }
      // Named requests reach resourceNames grants and `me`.
      for (const name of seen.users) out.push(req(u, 'get iam.gatehouse.dev/users', undefined, { groups, name }), req(u, 'get pods', seen.namespaces[0], { groups, name }));
    }
  }
  return out;
}

/**
 * Fails unless `a` and `b` answer every read alike and decide() every request alike (with reasons
 * and the permission that matched). `extra` adds requests of the caller's own.
 */
export function assertSameAnswers(a: PermissionIndex, b: PermissionIndex, extra: readonly AccessRequest[] = []): void {
  const seen = namesSeen([a, b]);
  assert.deepEqual(answers(a, seen), answers(b, seen));
  for (const r of [...requestsOver([a, b]), ...extra]) assert.deepEqual(decide(a, r, { explain: true }), decide(b, r, { explain: true }), JSON.stringify(r));
}

// The core's PermissionIndex as the admission policy's PolicyView (src/admission/types.ts).
import type { Scope } from '../api/types.js';
import type { PermissionIndex } from '../authz/index.js';
import { canAssign, effectivePermissions, missingPermissions, scopesHolding, type MissingResult } from '../authz/queries.js';
import { scopeText } from '../authz/scope.js';
import { atomCovers, splitAtom } from '../authz/permission.js';
import type { Requester } from '../authz/types.js';
import type { PolicyView } from './types.js';

function pieces(res: MissingResult): string[] {
  const out = new Set<string>();
  for (const m of res.missing) out.add(`${m.piece} ${scopeText(m.where, 'where')}`);
  return [...out];
}

/** `now` defaults to the index's clock (expiry of bindings). */
export function createPolicyView(index: PermissionIndex, now: () => number = () => index.now()): PolicyView {
  const record = (r: Requester) => index.userRecord(r.user);
  return {
    user: (name) => index.getUser(name),
    userByUsername: (username) => index.getUserByUsername(username),
    activeSuperusers: () => index.listUserRecords().filter((u) => u.state === 'Active' && u.superuser).map((u) => u.username),
    role: (name) => index.getRole(name),
    team: (name) => index.getTeam(name),
    listBindings: () => index.listBindings(),
    isSuperuser(r) {
      const u = record(r);
      return u !== undefined && u.state === 'Active' && u.superuser;
    },
    missingPermissions: (r, permissions, scope: Scope) => pieces(missingPermissions(index, r, permissions, scope, now())),
    missingRolePermissions: (r, name, scope: Scope) => pieces(missingPermissions(index, r, { role: name }, scope, now())),
    assign(r, role, scope) {
      const res = canAssign(index, r, role, scope, now());
      return { allowed: res.allowed, reason: res.reason, ...(res.chained !== undefined ? { chained: res.chained } : {}) };
    },
    roleCovers(outer, inner) {
      const a = index.compiledRole(outer);
      const b = index.compiledRole(inner);
      if (!a || !b) return false;
      return b.atoms.every((x) => splitAtom(x.atom).every((piece) => a.atoms.some((y) => atomCovers(y.atom, piece))));
    },
    at: (time) => createPolicyView(index, () => time),
    expiries(r) {
      const out: number[] = [];
      for (const g of effectivePermissions(index, r, now()).grants) {
        const t = g.expiresAt !== undefined ? Date.parse(g.expiresAt) : Number.NaN;
        if (!Number.isNaN(t)) out.push(t);
      }
      return out;
    },
    scopesHolding: (r, attrs) => scopesHolding(index, r, { verb: attrs.verb, group: attrs.group, resource: attrs.resource }, now()),
    holdsMe: (r) => missingPermissions(index, r, ['me'], { cluster: true }, now()).missing.length === 0,
    teamNamespaces: (team) => [...index.teamNamespaces(team)],
    teamAncestorsOrSelf: (team) => index.teamAncestorsOrSelf(team),
    teamChildren: (team) => [...index.teamChildren(team)].sort(),
    subtreeNamespaces: (team) => [...index.subtreeNamespaces(team)].sort(),
    listTeams: () => index.listTeams(),
    ownsNamespace(r, owner) {
      const u = record(r);
      return u !== undefined && u.state === 'Active' && u.aliases.includes(owner);
    },
  };
}

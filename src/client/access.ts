// can-i / explain / who-can for people: the request decide() sees, the name a person typed
// resolved to a username, and the whole chain behind a decision with what to change. Pure over a
// permission index built from a world (world.ts); both faces print or serve the result.
import { usernameOf } from '../authz/rules.js';
import type { PermissionIndex, CompiledBinding } from '../authz/index.js';
import { decide, prepareTarget, roleGrants, forEachCandidateBinding, matchingSubject } from '../authz/decide.js';
import { effectiveGroups, isLive, leftAloneBecause } from '../authz/rules.js';
import type { AccessRequest, Decision, Requester } from '../authz/types.js';
import { scopeText } from '../authz/scope.js';
import { describeRequest, type Target } from './target.js';
import { candidateRoles, requestCommand, scopeFlagsFor } from '../requests/hint.js';
import { describeApprovers } from '../requests/approvers.js';
import { clusterPhrase, whyNotHere } from '../fleet/identity.js';

/** The request decide() sees; the API server adds system:authenticated to every authenticated user. */
export function accessRequest(who: Requester, target: Target): AccessRequest {
  const groups = [...new Set([...who.groups, ...(who.user === 'system:anonymous' ? [] : ['system:authenticated'])])];
  return { user: who.user, groups, ...(who.uid ? { uid: who.uid } : {}), ...(target.resource ? { resource: target.resource } : { nonResource: target.nonResource }) };
}

/**
 * The API server reports usernames; a person often types the User's object name. When the request
 * names a User object whose username differs (and no User has that username), ask about that
 * username; `note` says so.
 */
export function resolveUsername(index: PermissionIndex, req: AccessRequest): { req: AccessRequest; note?: string } {
  if (index.userRecord(req.user)) return { req };
  const byName = index.getUser(req.user);
  if (!byName) return { req };
  const username = usernameOf(byName);
  return { req: { ...req, user: username }, note: `asking about username ${username} (User ${req.user}'s spec.username)` };
}

export interface BindingLink {
  name: string;
  role: string;
  roleFound: boolean;
  /** The subject that names the user: `User alice`, `Team vision`, `Group oidc:ml`. */
  subject: string;
  scope: string;
  expiresAt?: string;
  live: boolean;
  coversRequest: boolean;
  roleGrants: boolean;
  /** This binding made the decision. */
  decided: boolean;
}

export interface Chain {
  request: string;
  user: string;
  groups: string[];
  /** `otherCluster`: the User's spec.clusters does not select this cluster (issue 30; `state` then reads Suspended). */
  userObject: { found: boolean; name?: string; username?: string; state?: string; superuser?: boolean; seed?: boolean; otherCluster?: boolean };
  /** This cluster's name ('' when unnamed), as the index was built for (issue 30). */
  cluster: string;
  /** Role assignments naming the user that are not in force on this cluster (spec.clusters), with why. */
  notInForceHere: Array<{ name: string; role: string; why: string }>;
  teams: Array<{ team: string; how: string }>;
  bindings: BindingLink[];
  project?: { namespace: string; owner?: string; public: boolean; ownerRole?: string; publicRole?: string; teams: string[] };
  defaults?: { role: string; team: string; covers: boolean };
  decision: Decision;
  /** Installed roles whose permissions grant the request (scope aside). */
  rolesThatGrant: string[];
  /** What a person can do to change the answer. */
  hints: string[];
}

/** The permission string that would grant exactly this request, for `role create -p`. */
export function permissionFor(req: AccessRequest): string {
  if (req.nonResource) return `${req.nonResource.path}:${req.nonResource.verb}`;
  const r = req.resource;
  if (!r) return '';
  const group = r.group === '' ? '' : `${r.group}/`;
  return `${group}${r.resource}${r.subresource ? `/${r.subresource}` : ''}:${r.verb}`;
}

function scopeFlag(req: AccessRequest): string {
  const namespace = req.resource?.namespace;
  return scopeText(namespace ? { kind: 'namespace', namespace } : { kind: 'cluster' }, 'flag');
}

/** Everything that led to the decision, and what to change. Pure over the index. */
export function explainChain(index: PermissionIndex, req: AccessRequest, now: number): Chain {
  const decision = decide(index, req, { now, explain: true });
  const t = prepareTarget(req);
  const target: Target = req.resource ? { resource: req.resource } : { nonResource: req.nonResource! };
  const chain: Chain = {
    request: describeRequest(target),
    user: req.user,
    groups: [...req.groups],
    userObject: { found: false },
    teams: [],
    bindings: [],
    decision,
    rolesThatGrant: t ? index.listRoles().map((r) => r.metadata.name).filter((n) => roleGrants(index.compiledRole(n), t)).sort() : [],
    hints: [],
    cluster: index.cluster.name,
    notInForceHere: [],
  };
  const rec = index.userRecord(req.user);
  const groups = effectiveGroups(req.groups);
  if (rec) {
    chain.userObject = { found: true, ...(rec.name !== null ? { name: rec.name } : {}), username: rec.username, state: rec.state, superuser: rec.superuser, seed: rec.seed, ...(rec.otherCluster ? { otherCluster: true } : {}) };
    const direct = index.directTeams(rec);
    for (const team of [...index.teamsOf(rec, groups)].sort()) {
      if (direct.has(team)) chain.teams.push({ team, how: 'member' });
      else {
        const via = (index.getTeam(team)?.spec.groups ?? []).filter((g) => groups.includes(g));
        chain.teams.push({ team, how: `through group ${via.join(', ')}` });
      }
    }
    const seen = new Set<string>();
    const found: CompiledBinding[] = [];
    forEachCandidateBinding(index, rec, groups, (b) => {
      if (!seen.has(b.name)) {
        seen.add(b.name);
        found.push(b);
      }
    });
    const ns = req.resource?.namespace;
    for (const b of found.sort((x, y) => x.name.localeCompare(y.name))) {
      const s = matchingSubject(index, b, rec, groups);
      const live = isLive(b, now);
      const coversRequest = t !== null && (t.path !== undefined ? b.scope.kind === 'cluster' : index.scopeCovers(b.scope, ns));
      chain.bindings.push({
        name: b.name,
        role: b.role,
        roleFound: index.compiledRole(b.role) !== undefined,
        subject: s ? `${s.kind} ${s.name}` : '?',
        scope: scopeText(b.scope),
        ...(b.object.spec.expiresAt ? { expiresAt: b.object.spec.expiresAt } : {}),
        live,
        coversRequest,
        roleGrants: t !== null && roleGrants(index.compiledRole(b.role), t),
        decided: decision.grant?.source === 'binding' && decision.grant.binding === b.name,
      });
    }
  }
  if (rec) {
    // Bindings meant for other clusters name the user too: say so, or "no role grants it" misleads.
    const teams = new Set(chain.teams.map((x) => x.team));
    for (const b of index.bindingsNotInForce()) {
      const names = (b.spec.subjects ?? []).some((s) => (s.kind === 'User' ? rec.aliases.includes(s.name) : s.kind === 'Team' ? teams.has(s.name) : groups.includes(s.name)));
      if (names) chain.notInForceHere.push({ name: b.metadata.name, role: b.spec.role, why: whyNotHere(b.spec.clusters, index.cluster) });
    }
  }
  const ns = req.resource?.namespace;
  if (ns !== undefined) {
    const { ownerRole, publicRole } = index.config.projects;
    const owner = index.namespaceOwner(ns);
    chain.project = {
      namespace: ns,
      ...(owner !== undefined ? { owner } : {}),
      public: index.isPublicNamespace(ns),
      ...(ownerRole ? { ownerRole } : {}),
      ...(publicRole ? { publicRole } : {}),
      teams: [...index.namespaceTeams(ns)].sort(),
    };
    const { role, team } = index.config.defaults;
    if (role && team) chain.defaults = { role, team, covers: index.teamOwnsNamespace(team, ns) };
  }
  chain.hints = hintsFor(index, chain, req);
  return chain;
}

function hintsFor(index: PermissionIndex, chain: Chain, req: AccessRequest): string[] {
  const d = chain.decision;
  const who = chain.userObject.name ?? req.user;
  const hints: string[] = [];
  const perm = permissionFor(req);
  switch (d.code) {
    case 'ignored':
      hints.push(`Gatehouse leaves ${leftAloneBecause(index.ignoreLists, req.user, req.groups) ?? 'this identity'} to native RBAC: use kubectl auth can-i for it`);
      break;
    case 'unknownUser':
      hints.push(`there is no User for ${req.user}, so Gatehouse has no opinion and native RBAC decides; to manage them with Gatehouse: kubectl gatehouse user create NAME --username ${req.user}`);
      break;
    case 'inactive':
      if (chain.userObject.otherCluster) {
        hints.push(`${who} may not act on ${clusterPhrase(index.cluster)}: every request here is denied until User ${who}'s spec.clusters selects it (in Git, for the whole fleet)`);
      } else {
        hints.push(`${who} is ${chain.userObject.state ?? 'not Active'}: every request is denied until a superuser runs kubectl gatehouse user activate ${who}`);
      }
      break;
    case 'noMatch': {
      // Requestable roles first: asking is what a person without access can do themselves.
      const t = prepareTarget(req);
      if (t !== null) {
        const flags = scopeFlagsFor(index, t);
        for (const role of candidateRoles(index, t)) {
          hints.push(`role ${role.metadata.name} may be requested (approvers: ${describeApprovers(role)}): ${requestCommand(role, flags)}`);
        }
      }
      for (const b of chain.notInForceHere) hints.push(`role assignment ${b.name} (role ${b.role}) names ${who} but is not in force on ${clusterPhrase(index.cluster)}: ${b.why}`);
      for (const b of chain.bindings) {
        if (!b.roleFound) hints.push(`role assignment ${b.name} names role ${b.role}, which does not exist`);
        else if (b.roleGrants && !b.live) hints.push(`role assignment ${b.name} (role ${b.role}) would grant it but expired at ${b.expiresAt ?? '?'}; assign it again: kubectl gatehouse role assign ${b.role} --user ${who} --scope ${scopeFlag(req)} --expires 7d`);
        else if (b.roleGrants && !b.coversRequest) hints.push(`role assignment ${b.name} (role ${b.role}) grants it, but its scope (${b.scope}) does not cover ${req.resource?.namespace ? `namespace ${req.resource.namespace}` : 'cluster-wide requests (only scope cluster does)'}`);
      }
      if (chain.rolesThatGrant.length > 0) {
        hints.push(`roles that grant ${perm}: ${chain.rolesThatGrant.join(', ')}; assign one: kubectl gatehouse role assign ${chain.rolesThatGrant[0]} --user ${who} --scope ${scopeFlag(req)}`);
      } else {
        hints.push(`no installed role grants ${perm}; create one: kubectl gatehouse role create NAME -p ${perm}, then kubectl gatehouse role assign NAME --user ${who} --scope ${scopeFlag(req)}`);
      }
      hints.push('Gatehouse has no opinion here, so native RBAC may still allow it (--ask-apiserver shows the whole answer)');
      break;
    }
    case 'superuser':
      hints.push(d.reason.includes('seed admin') ? `${who} is a seed admin: change that in the Helm values, not here` : `to take it away: kubectl gatehouse superuser revoke ${who}`);
      break;
    case 'binding':
    case 'delegated':
    case 'self': {
      const g = d.grant;
      if (g?.binding) {
        const via = g.subject && g.subject.kind === 'Team' ? ` (or take ${who} out of team ${g.subject.name}: kubectl gatehouse team remove ${g.subject.name} ${who})` : '';
        hints.push(`to take it away: kubectl gatehouse role assignment delete ${g.binding}${via}`);
      }
      if (d.code === 'delegated') hints.push('delegated administration: the admission webhook still checks that the object lies inside the scope where the permission is held');
      break;
    }
    case 'projectOwner':
      hints.push(`from the ${'iam.gatehouse.dev/owner'} label on namespace ${req.resource?.namespace ?? '?'}`);
      break;
    case 'publicProject':
      hints.push(`from the iam.gatehouse.dev/visibility=public label on namespace ${req.resource?.namespace ?? '?'}`);
      break;
    default:
      break;
  }
  return hints;
}

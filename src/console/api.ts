// The console's JSON operations: HTTP's side of the client core (src/client/). Each reads or
// writes through the caller's own GatehouseClient (so the API server authorizes and the admission
// webhook checks every change as that person) with the same queries, parsers and edits as the
// CLI; what is here is only the reading of the request and the shape of the answer. No state.
import { whoCan } from '../authz/queries.js';
import type { PolicyConfig } from '../config.js';
import { ConsoleError } from '../errors.js';
import { clusterOf, clusterTitle } from '../fleet/identity.js';
import type { Role, RoleBinding, UserState } from '../api/types.js';
import { collect, listWorld, sourceLine, withOwnUser, type Snapshot } from '../client/world.js';
import { accessRequest, explainChain, resolveUsername } from '../client/access.js';
import { ClientError } from '../client/errors.js';
import { applyMembership, updateWithRetry } from '../client/edits.js';
import { bindingName, parseExpiry, parseScopes, subjectsFrom, subjectsText } from '../client/assignments.js';
import type { GatehouseClient } from '../client/kube.js';
import { normalizePermission } from '../client/permissions.js';
import { parseTarget, describeRequest } from '../client/target.js';
import { scopeText } from '../authz/scope.js';
import { grantRows, filterRows, parseReviewDuration, usageNotSeen, RBAC_MODE_NOTE, type ReviewFilters } from '../client/review.js';
import { paged, userPage, userText, pendingRows, teamRows, teamText, roleMatrix, roleText } from './views.js';

export interface Caller {
  client: GatehouseClient;
  policy: { config: PolicyConfig; source: string };
  now: () => number;
}

export type Query = URLSearchParams;

/** At most this many names in one bulk action; each is one API call. */
export const MAX_BULK = 200;

function input(message: string): ConsoleError {
  return new ConsoleError('GH_CONSOLE_INPUT', 400, message);
}

function text(v: unknown, what: string, max = 253): string {
  if (typeof v !== 'string' || v.trim() === '' || v.length > max) throw input(`${what} must be a non-empty string of at most ${max} characters`);
  return v.trim();
}

function names(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_BULK) throw input(`${what} must be a list of 1 to ${MAX_BULK} names`);
  return [...new Set(v.map((x, i) => text(x, `${what}[${i}]`)))];
}

function optional(v: unknown, what: string, max = 253): string | undefined {
  return v === undefined || v === null || v === '' ? undefined : text(v, what, max);
}

function listing(q: Query) {
  return { q: (q.get('q') ?? '').slice(0, 200), offset: Number(q.get('offset') ?? 0), limit: Number(q.get('limit') ?? 50) };
}

function unreadable(snap: Pick<Snapshot, 'unreadable'>) {
  return snap.unreadable.map((u) => ({ what: u.what, message: u.why }));
}

export async function session(caller: Caller) {
  const me = await caller.client.whoAmI();
  // The cluster this console answers for (issue 30): the operator's configuration, or --config's.
  const cluster = clusterOf(caller.policy.config);
  return { user: me?.user ?? null, groups: me?.groups ?? [], server: caller.client.server, cluster: { name: cluster.name, labels: cluster.labels, title: clusterTitle(cluster) } };
}

export async function pending(caller: Caller, q: Query) {
  const { world, unreadable: u } = await listWorld(caller.client, ['users']);
  const { q: s, offset, limit } = listing(q);
  return { ...paged(pendingRows(world.users), userText, s, offset, limit), unreadable: unreadable({ unreadable: u }) };
}

export async function users(caller: Caller, q: Query) {
  const { world, unreadable: u } = await listWorld(caller.client, ['users', 'teams', 'rolebindings']);
  const { q: s, offset, limit } = listing(q);
  const state = q.get('state') ?? undefined;
  return { ...userPage(world, caller.now(), { q: s, offset, limit, ...(state ? { state } : {}) }), unreadable: unreadable({ unreadable: u }) };
}

export async function teams(caller: Caller, q: Query) {
  const { world, unreadable: u } = await listWorld(caller.client, ['teams', 'rolebindings']);
  const { q: s, offset, limit } = listing(q);
  return { ...paged(teamRows(world, caller.now()), teamText, s, offset, limit), unreadable: unreadable({ unreadable: u }) };
}

export async function roles(caller: Caller, q: Query) {
  const snap = await collect(caller.client, caller.policy.config, caller.policy.source, caller.now);
  const m = roleMatrix(snap.index);
  const { q: s, offset, limit } = listing(q);
  const page = paged(m.rows, roleText, s, offset, limit);
  // Only the columns the shown roles use, so a page stays readable however many resources exist.
  const used = new Set(page.items.flatMap((r) => Object.keys(r.cells)));
  return { ...page, resources: m.resources.filter((r) => used.has(r)), unreadable: unreadable(snap) };
}

type Outcome = { name: string; ok: true; detail: string } | { name: string; ok: false; status: number; message: string };

/** Runs `change` for each name one after another; one refusal does not stop the others. */
async function each(list: string[], change: (name: string) => Promise<string>): Promise<{ results: Outcome[] }> {
  const results: Outcome[] = [];
  for (const name of list) {
    try {
      results.push({ name, ok: true, detail: await change(name) });
    } catch (err) {
      if (!(err instanceof ClientError)) throw err;
      results.push({ name, ok: false, status: Number(err.details['status'] ?? 500), message: err.message });
    }
  }
  return { results };
}

const STATES: readonly UserState[] = ['Active', 'Rejected', 'Suspended'];

/** Approve (Active), reject, suspend or reactivate (Active) one or many users. */
export async function setState(caller: Caller, body: Record<string, unknown>) {
  const state = STATES.find((s) => s === body['state']);
  if (!state) throw input(`state must be one of ${STATES.join(', ')}`);
  return each(names(body['names'], 'names'), async (name) => {
    const { before, after } = await updateWithRetry(caller.client, 'User', name, (u) => (u.spec.state === state ? undefined : { state }));
    return after ? `${before.spec.state} -> ${after.spec.state}` : `already ${state}`;
  });
}

export async function superuser(caller: Caller, body: Record<string, unknown>) {
  if (typeof body['grant'] !== 'boolean') throw input('grant must be true or false');
  const grant = body['grant'];
  return each(names(body['names'], 'names'), async (name) => {
    const { after } = await updateWithRetry(caller.client, 'User', name, (u) => (Boolean(u.spec.superuser) === grant ? undefined : { superuser: grant }));
    return after ? (grant ? 'now a superuser' : 'no longer a superuser') : 'unchanged';
  });
}

export async function membership(caller: Caller, body: Record<string, unknown>) {
  const team = text(body['team'], 'team');
  const add = body['action'] === 'add' ? true : body['action'] === 'remove' ? false : undefined;
  if (add === undefined) throw input('action must be add or remove');
  const members = names(body['members'], 'members');
  return each([team], async () => {
    const { after } = await updateWithRetry(caller.client, 'Team', team, (t) => applyMembership(t.spec, { members, groups: [], namespaces: [] }, add));
    return after ? `members now ${(after.spec.members ?? []).join(', ') || '<none>'}` : 'unchanged';
  });
}

function usage<T>(call: () => T): T {
  try {
    return call();
  } catch (err) {
    if (err instanceof ConsoleError) throw err;
    throw input((err as Error).message);
  }
}

export async function createRole(caller: Caller, body: Record<string, unknown>) {
  const name = text(body['name'], 'name');
  const perms = Array.isArray(body['permissions']) ? body['permissions'] : [];
  if (perms.length === 0 || perms.length > 200) throw input('give 1 to 200 permissions, e.g. jobs:write or read');
  const permissions = usage(() => [...new Set(perms.map((p, i) => normalizePermission(text(p, `permissions[${i}]`, 512))))]);
  const description = optional(body['description'], 'description', 1024);
  const role: Role = { metadata: { name }, spec: { ...(description ? { description } : {}), permissions } };
  return each([name], async () => {
    const created = await caller.client.create('Role', role);
    return `role ${name} created with ${(created.spec.permissions ?? []).join(', ')}`;
  });
}

export async function assignRole(caller: Caller, body: Record<string, unknown>) {
  const role = text(body['role'], 'role');
  const user = optional(body['user'], 'user');
  const team = optional(body['team'], 'team');
  const group = optional(body['group'], 'group');
  const subjects = subjectsFrom(user ? [user] : [], team ? [team] : [], group ? [group] : []);
  if (subjects.length !== 1) throw input('name exactly one of user, team or group');
  const scope = usage(() => parseScopes([text(body['scope'], 'scope')]));
  const expires = optional(body['expires'], 'expires', 64);
  const expiresAt = expires ? usage(() => parseExpiry(expires, caller.now())) : undefined;
  const name = bindingName(role, subjects, scope);
  const binding: RoleBinding = { metadata: { name }, spec: { role, subjects, scope, ...(expiresAt ? { expiresAt } : {}) } };
  return each([name], async () => {
    await caller.client.create('RoleBinding', binding);
    return `role ${role} assigned to ${subjectsText(subjects)} in ${scopeText(scope)}${expiresAt ? ` until ${expiresAt}` : ''}`;
  });
}

function targetOf(q: Query) {
  const namespace = q.get('namespace') ?? '';
  const subresource = q.get('subresource') ?? '';
  return usage(() => parseTarget({
    verb: text(q.get('verb'), 'verb', 64),
    resource: text(q.get('resource'), 'resource', 512),
    ...(subresource ? { subresource } : {}),
    ...(namespace ? { namespace } : {}),
  }));
}

/** `kubectl gatehouse explain` for a user: the decision with its whole chain. */
export async function explain(caller: Caller, q: Query) {
  const target = targetOf(q);
  const user = text(q.get('user'), 'user');
  const groups = q.getAll('group').filter(Boolean).slice(0, 50);
  const snap = await withOwnUser(caller.client, await collect(caller.client, caller.policy.config, caller.policy.source, caller.now), user, caller.policy.config, caller.now);
  const { req, note } = resolveUsername(snap.index, accessRequest({ user, groups }, target));
  const chain = explainChain(snap.index, req, caller.now());
  return { ...chain, allowed: chain.decision.verdict === 'allow', source: sourceLine(snap), ...(note ? { note } : {}), unreadable: unreadable(snap) };
}

/** `kubectl gatehouse who-can`. */
export async function whoCanQuery(caller: Caller, q: Query) {
  const target = targetOf(q);
  const snap = await collect(caller.client, caller.policy.config, caller.policy.source, caller.now);
  const entries = whoCan(snap.index, target.resource ?? { nonResource: target.nonResource }, caller.now());
  return { request: describeRequest(target), subjects: entries, source: sourceLine(snap), unreadable: unreadable(snap) };
}

/** The Review page: `kubectl gatehouse review` with the same filters (issue 24). */
export async function review(caller: Caller, q: Query) {
  const { world, unreadable: u } = await listWorld(caller.client, ['users', 'teams', 'rolebindings']);
  const dur = (name: string): number | undefined => {
    const v = q.get(name);
    return v ? usage(() => parseReviewDuration(v, name)) : undefined;
  };
  const unusedMs = dur('unused');
  const expiringMs = dur('expiring');
  const user = q.get('user') || undefined;
  const team = q.get('team') || undefined;
  const f: ReviewFilters = {
    ...(unusedMs !== undefined ? { unusedMs } : {}),
    ...(q.get('neverUsed') === 'true' ? { neverUsed: true } : {}),
    ...(q.get('superusers') === 'true' ? { superusers: true } : {}),
    ...(expiringMs !== undefined ? { expiringMs } : {}),
    ...(user ? { user } : {}),
    ...(team ? { team } : {}),
  };
  const items = filterRows(grantRows(world), f, caller.now(), world);
  return { items, total: items.length, ...(usageNotSeen(world.bindings) ? { notice: RBAC_MODE_NOTE } : {}), unreadable: unreadable({ unreadable: u }) };
}

/** Revoke buttons: deletes RoleBindings as the caller (admission checks each). */
export async function revoke(caller: Caller, body: Record<string, unknown>) {
  return each(names(body['names'], 'names'), async (name) => {
    await caller.client.delete('RoleBinding', name);
    return 'revoked (role binding deleted)';
  });
}

// The console's Requests page (issue 23): the approver's queue and the caller's own requests, from
// the caller's own client; making, approving, denying and revoking go through the client core
// (src/client/requests.ts), so the API server and the admission webhook judge them as that person.
import { ConsoleError } from '../errors.js';
import { decideRequest, listRequests, makeRequest, mine, scopeOf, toApprove } from '../client/requests.js';
import { DECISION_ACTIONS, scopeFlags, type AccessRequestObject, type DecisionAction } from '../requests/types.js';
import type { Caller } from './api.js';

function input(message: string): ConsoleError {
  return new ConsoleError('GH_CONSOLE_INPUT', 400, message);
}
function text(v: unknown, what: string, max = 1024): string {
  if (typeof v !== 'string' || v.trim() === '' || v.length > max) throw input(`${what} must be a non-empty string of at most ${max} characters`);
  return v.trim();
}

function row(r: AccessRequestObject) {
  return {
    name: r.metadata.name,
    requester: r.spec.requester ?? '',
    role: r.spec.role,
    scope: scopeFlags(r.spec.scope),
    duration: r.spec.duration,
    reason: r.spec.reason,
    phase: r.status?.phase ?? 'Pending',
    approvals: `${r.status?.approvals ?? 0}/${r.status?.approvalsRequired ?? 1}`,
    expiresAt: r.status?.expiresAt ?? '',
    decidedBy: r.status?.decidedBy ?? '',
    message: r.status?.message ?? '',
    created: r.metadata.creationTimestamp ?? '',
  };
}

export async function requests(caller: Caller) {
  const me = (await caller.client.whoAmI())?.user;
  const all = (await listRequests(caller.client)).sort((a, b) => (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''));
  if (!me) return { user: null, toApprove: [], mine: [], all: all.map(row) };
  return { user: me, toApprove: toApprove(all, me).map(row), mine: mine(all, me).map(row), all: [] };
}

export async function makeAccessRequest(caller: Caller, b: Record<string, unknown>) {
  const where = text(b['scope'], 'scope', 300);
  const m = /^(team|namespace|cluster)(?::(.+))?$/.exec(where);
  if (!m) throw input('scope must be team:NAME, namespace:NAME or cluster');
  const scope = scopeOf({ teams: m[1] === 'team' ? [m[2] ?? ''] : [], namespaces: m[1] === 'namespace' ? [m[2] ?? ''] : [], cluster: m[1] === 'cluster' });
  const created = await makeRequest(caller.client, { role: text(b['role'], 'role', 253), scope, duration: text(b['duration'], 'duration', 32), reason: text(b['reason'], 'reason') });
  return row(created);
}

export async function decideAccessRequest(caller: Caller, b: Record<string, unknown>) {
  const action = b['action'];
  if (typeof action !== 'string' || !(DECISION_ACTIONS as readonly string[]).includes(action)) throw input(`action must be one of ${DECISION_ACTIONS.join(', ')}`);
  const comment = typeof b['comment'] === 'string' && b['comment'].trim() ? b['comment'].trim().slice(0, 1024) : undefined;
  return row(await decideRequest(caller.client, text(b['name'], 'name', 253), action as DecisionAction, comment));
}

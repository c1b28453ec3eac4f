// Access requests through the client core: what `kubectl gatehouse request ...` and the console's
// Requests page both do. The API server (decide() and admission) is the judge; this only builds the
// writes and reads.
import type { Scope } from '../api/types.js';
import { apiError, ClientError, usageError } from './errors.js';
import type { GatehouseClient, RequestsApi } from './kube.js';
import { parseDuration, type AccessRequestObject, type DecisionAction } from '../requests/types.js';

function api(client: GatehouseClient): RequestsApi {
  if (!client.requests) throw usageError('this client cannot reach AccessRequests');
  return client.requests;
}

export interface NewRequest {
  role: string;
  scope: Scope;
  duration: string;
  reason: string;
}

/** Checks what the API server would refuse anyway, so the message comes before the round trip. */
export function newRequestProblem(r: NewRequest): string | undefined {
  if (!r.role) return 'name the ROLE to ask for';
  if (parseDuration(r.duration) === undefined) return `--for ${JSON.stringify(r.duration)}: use a duration like 30m, 4h or 1d`;
  if (!r.reason.trim()) return '--reason: say why (approvers read it)';
  const set = [r.scope.cluster ? 1 : 0, r.scope.teams?.length ? 1 : 0, r.scope.namespaces?.length ? 1 : 0].reduce((a, b) => a + b, 0);
  if (set !== 1) return 'give exactly one of --team, --namespace or --cluster';
  return undefined;
}

export async function makeRequest(client: GatehouseClient, r: NewRequest): Promise<AccessRequestObject> {
  const problem = newRequestProblem(r);
  if (problem) throw usageError(problem);
  // The requester is left out: admission stamps it from who is asking.
  return api(client).create({ metadata: { name: '', generateName: `${r.role.slice(0, 40)}-` } as AccessRequestObject['metadata'], spec: { role: r.role, scope: r.scope, duration: r.duration, reason: r.reason } });
}

export function listRequests(client: GatehouseClient): Promise<AccessRequestObject[]> {
  return api(client).list();
}

/** Appends one decision (admission stamps who and when, and checks the writer may), guarded by resourceVersion. */
export async function decideRequest(client: GatehouseClient, name: string, action: DecisionAction, comment?: string): Promise<AccessRequestObject> {
  const a = api(client);
  for (let attempt = 0; ; attempt++) {
    const current = await a.get(name);
    const decisions = [...(current.spec.decisions ?? []), { action, ...(comment ? { comment } : {}) }];
    try {
      return await a.mergePatch(name, { metadata: { resourceVersion: current.metadata.resourceVersion }, spec: { decisions } });
    } catch (err) {
      if (attempt < 3 && err instanceof ClientError && err.details['conflict'] === true) continue;
      throw err;
    }
  }
}

/** Requests made by `username`, or waiting for someone else's decision (not theirs). */
export function mine(all: readonly AccessRequestObject[], username: string): AccessRequestObject[] {
  return all.filter((r) => r.spec.requester === username);
}
export function toApprove(all: readonly AccessRequestObject[], username: string): AccessRequestObject[] {
  return all.filter((r) => r.spec.requester !== username && (r.status?.phase ?? 'Pending') === 'Pending' && !(r.spec.decisions ?? []).some((d) => d.by === username));
}

export function scopeOf(flags: { teams: string[]; namespaces: string[]; cluster: boolean }): Scope {
  if (flags.cluster) return { cluster: true };
  if (flags.teams.length > 0) return { teams: flags.teams };
  if (flags.namespaces.length > 0) return { namespaces: flags.namespaces };
  return {};
}

export function notFoundIfMissing(r: AccessRequestObject | undefined, name: string): AccessRequestObject {
  if (!r) throw apiError(`access request ${JSON.stringify(name)} not found (\`kubectl gatehouse request list\` shows them)`, { notFound: true });
  return r;
}

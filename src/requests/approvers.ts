// Who may approve an AccessRequest: one function that admission (the gate), the controller (a
// second look when it grants) and `explain` (listing approvers) all call.
import type { Role, Scope } from '../api/types.js';
import type { Requester } from '../authz/types.js';
import type { PolicyView } from '../admission/types.js';

/** Whether `actor` is the user `username` (by username or by User object name). */
export function isSameUser(view: PolicyView, actor: Requester, username: string): boolean {
  if (actor.user === username) return true;
  const a = view.userByUsername(actor.user);
  const b = view.userByUsername(username);
  return a !== undefined && b !== undefined && a.metadata.name === b.metadata.name;
}

/**
 * Undefined when `actor` may approve a request for `role` in `scope`, else why not. Superusers
 * always may (they could write the RoleBinding themselves). With `requestable.approvers` set,
 * only those Users and members of those Teams; without, whoever could bind the role in the scope
 * today (view.assign: holds what it grants there, or holds a role whose canAssign lists it).
 */
export function approverProblem(view: PolicyView, actor: Requester, role: Role, scope: Scope): string | undefined {
  if (view.isSuperuser(actor)) return undefined;
  const user = view.userByUsername(actor.user);
  if (!user || user.spec.state !== 'Active') return `${actor.user} is not an Active user`;
  const approvers = role.spec.requestable?.approvers ?? [];
  if (approvers.length > 0) {
    for (const a of approvers) {
      if (a.kind === 'User' && (a.name === user.metadata.name || a.name === actor.user)) return undefined;
      if (a.kind === 'Team') {
        const team = view.team(a.name);
        if (team?.spec.members?.includes(user.metadata.name) === true) return undefined;
        if ((team?.spec.groups ?? []).some((g) => actor.groups.includes(g))) return undefined;
      }
    }
    return `${actor.user} is not among role ${role.metadata.name}'s approvers (${approvers.map((a) => `${a.kind} ${a.name}`).join(', ')})`;
  }
  const can = view.assign(actor, role.metadata.name, scope);
  return can.allowed ? undefined : `${actor.user} could not bind role ${role.metadata.name} there (${can.reason}), so may not approve it`;
}

/** The approvers as a person reads them, for `explain` and denial hints. */
export function describeApprovers(role: Role): string {
  const approvers = role.spec.requestable?.approvers ?? [];
  const n = role.spec.requestable?.approvals ?? 1;
  const who = approvers.length > 0 ? approvers.map((a) => `${a.kind} ${a.name}`).join(', ') : 'superusers and whoever may assign the role there (canAssign)';
  return n > 1 ? `${who}; ${n} approvals needed` : who;
}

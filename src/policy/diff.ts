// `kubectl gatehouse diff` (issue 25): what a change grants and takes away, per user - each user's
// effective access (the operator's effectivePermissions over each side's index) before and after,
// as sets of "permission where" lines, and the difference. Pure.
import { PermissionIndex } from '../authz/index.js';
import { effectivePermissions } from '../authz/queries.js';
import type { PolicySet } from './sources.js';

export interface UserDiff {
  /** The user's username (what the API server authenticates). */
  user: string;
  gained: string[];
  lost: string[];
}

function places(scope: { cluster: boolean; namespaces: readonly string[]; teams: readonly string[] }): string[] {
  if (scope.cluster) return ['cluster-wide'];
  // A team scope is held in the team's namespaces (listed) and for its Gatehouse objects (the team).
  return [...scope.namespaces.map((n) => `in namespace ${n}`), ...scope.teams.map((t) => `in team ${t}'s scope`)];
}

/** One user's effective access as readable, comparable lines. */
export function accessLines(index: PermissionIndex, username: string, now: number): Set<string> {
  const out = new Set<string>();
  const eff = effectivePermissions(index, { user: username, groups: [] }, now);
  if (!eff.user) return out;
  out.add(`state ${eff.user.state}`);
  if (!eff.active) return out;
  if (eff.superuser) out.add('superuser (every permission, cluster-wide)');
  for (const t of eff.teams) out.add(`member of team ${t}`);
  for (const g of eff.grants) {
    const via = g.binding ? `role ${g.role} via ${g.binding}` : `role ${g.role} (${g.source})`;
    for (const p of g.permissions) for (const where of places(g.scope)) out.add(`${p} ${where} [${via}${g.expiresAt ? `, until ${g.expiresAt}` : ''}]`);
  }
  return out;
}

/**
 * Per user (every username either side knows), the lines gained and lost; users whose access does
 * not change are left out. Group subjects are not users: their holders are known only at login.
 */
export function accessDiff(base: Pick<PolicySet, 'world' | 'config'>, head: Pick<PolicySet, 'world' | 'config'>, now: number): UserDiff[] {
  const before = PermissionIndex.build(base.world, base.config, () => now);
  const after = PermissionIndex.build(head.world, head.config, () => now);
  const users = new Set([...before.listUserRecords(), ...after.listUserRecords()].map((u) => u.username));
  const out: UserDiff[] = [];
  for (const user of [...users].sort()) {
    const a = accessLines(before, user, now);
    const b = accessLines(after, user, now);
    const gained = [...b].filter((l) => !a.has(l)).sort();
    const lost = [...a].filter((l) => !b.has(l)).sort();
    if (gained.length || lost.length) out.push({ user, gained, lost });
  }
  return out;
}

/** The review comment a pull request needs (Markdown). */
export function diffMarkdown(diffs: readonly UserDiff[]): string {
  if (diffs.length === 0) return 'Gatehouse: this change grants and takes away nothing.\n';
  const lines = [`Gatehouse: this change changes the access of ${diffs.length} user${diffs.length === 1 ? '' : 's'}.`, ''];
  for (const d of diffs) {
    lines.push(`### ${d.user}`);
    for (const g of d.gained) lines.push(`+ ${g}`);
    for (const l of d.lost) lines.push(`- ${l}`);
    lines.push('');
  }
  return lines.join('\n');
}

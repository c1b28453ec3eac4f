// "Every denial says how to get in": which requestable roles would allow a request decide() did not
// allow, and the command that asks for one. Only the deny / no-opinion path calls it, so decide()'s
// allowed path costs nothing more. The table of requestable roles is built once per change of the
// Roles (index.generationOf('Role')) and kept beside the index.
import type { Role } from '../api/types.js';
import type { CompiledRole, PermissionIndex, RoleCell } from '../authz/index.js';
import { GrantBits } from '../authz/grantbits.js';
import { roleGrants, type PreparedTarget } from '../authz/target.js';
import { DEFAULT_MAX_DURATION } from './types.js';

/**
 * decide.ts cellGrants()'s order: the request shape's role bitset first (cached by the index per
 * shape), the matcher only for roles that need it (resource names, paths, `me`).
 */
function grants(index: PermissionIndex, r: Requestable, t: PreparedTarget, s: { bits: Uint32Array | null }): boolean {
  if (t.path === undefined) {
    const bits = (s.bits ??= index.roleBitsFor(t));
    for (const id of r.cell.closure) if (GrantBits.has(bits, id)) return true;
    if (!r.cell.needsMatcher || t.name === undefined) return false;
  } else if (!r.cell.needsMatcher) {
    return false;
  }
  return roleGrants(r.compiled, t);
}

interface Requestable {
  readonly role: Role;
  readonly compiled: CompiledRole;
  readonly cell: RoleCell;
}
interface Table {
  readonly generation: number;
  readonly roles: readonly Requestable[];
}

const tables = new WeakMap<PermissionIndex, Table>();

function table(index: PermissionIndex): Table {
  const generation = index.generationOf('Role');
  const cached = tables.get(index);
  if (cached !== undefined && cached.generation === generation) return cached;
  const roles: Requestable[] = [];
  for (const role of index.listRoles()) {
    if (!role.spec.requestable) continue;
    const compiled = index.compiledRole(role.metadata.name);
    if (compiled) roles.push({ role, compiled, cell: index.roleCellOf(role.metadata.name) });
  }
  roles.sort((a, b) => (a.role.metadata.name < b.role.metadata.name ? -1 : 1));
  const t: Table = { generation, roles };
  tables.set(index, t);
  return t;
}

/** The requestable Roles that grant the target (scope aside), by name. */
export function candidateRoles(index: PermissionIndex, t: PreparedTarget): Role[] {
  const out: Role[] = [];
  const s = { bits: null as Uint32Array | null };
  for (const r of table(index).roles) if (grants(index, r, t, s)) out.push(r.role);
  return out;
}

/** The scope flags that would cover the target: the namespace's team, the namespace, or the cluster. */
export function scopeFlagsFor(index: PermissionIndex, t: PreparedTarget): string {
  const ns = t.path === undefined ? t.namespace : undefined;
  if (ns === undefined) return '--cluster';
  const team = index.namespaceLabelTeam(ns) ?? [...(index.namespaceSpecTeams(ns) ?? [])].sort()[0];
  return team !== undefined ? `--team ${team}` : `--namespace ${ns}`;
}

/** `kubectl gatehouse request researcher --team vision --for 4h --reason "..."`. */
export function requestCommand(role: Role, flags: string): string {
  return `kubectl gatehouse request ${role.metadata.name} ${flags} --for ${role.spec.requestable?.maxDuration ?? DEFAULT_MAX_DURATION} --reason "..."`;
}

/** The sentence decide() appends to a refusal, or '' when no requestable role would allow it. */
export function requestHint(index: PermissionIndex, t: PreparedTarget): string {
  const roles = table(index).roles;
  if (roles.length === 0) return '';
  const found = candidateRoles(index, t);
  if (found.length === 0) return '';
  const more = found.length > 1 ? ` (or ${found.slice(1).map((r) => r.metadata.name).join(', ')})` : '';
  return `; to ask for access${more}: ${requestCommand(found[0]!, scopeFlagsFor(index, t))}`;
}

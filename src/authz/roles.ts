// Role compilation: what one Role object says by itself (its parsed permissions and rules, its own
// matcher), and a role with its includes flattened (atoms, transitive includes, missing includes,
// the include cycle it lies on, inherited canAssign). Pure functions over a name -> OwnRole map; the
// index (index.ts) keeps the map and caches the results.
import type { Role } from '../api/types.js';
import { PermissionSyntaxError } from '../errors.js';
import { RoleMatcher } from './matcher.js';
import type { ParsedPermission, PermissionAtom } from './permission.js';
import { compileRule, parsePermission } from './permission.js';

/** One atom of a role, and which role (itself or an included one) it came from. */
export interface RoleAtom {
  readonly role: string;
  readonly text: string;
  readonly atom: PermissionAtom;
}

export interface CompiledRole {
  readonly name: string;
  /** Own and included atoms, own first, includes breadth-first, each role once. */
  readonly atoms: readonly RoleAtom[];
  readonly matcher: RoleMatcher;
  /** Roles this one includes transitively (itself excluded), existing ones only. */
  readonly includes: readonly string[];
  readonly missingIncludes: readonly string[];
  /** When the role lies on an include cycle: the cycle, e.g. [a, b, a]. */
  readonly cycle: readonly string[] | null;
  /** Own errors (permissions and rules that do not parse; they grant nothing). */
  readonly invalid: readonly { permission: string; problem: string }[];
  /** Roles its holders may assign (own canAssign plus included roles'). */
  readonly canAssign: ReadonlySet<string>;
  /** Some grant is limited by resourceNames (GrantBits leaves those to the matcher). */
  readonly hasNamed: boolean;
}

/** What one Role object says by itself, compiled when it changes. */
export interface OwnRole {
  readonly parsed: ParsedPermission[];
  readonly invalid: { permission: string; problem: string }[];
  readonly includes: string[];
  readonly canAssign: string[];
  /** Its own atoms only (includes are followed through RoleCell.closure). */
  readonly matcher: RoleMatcher;
  readonly hasNamed: boolean;
}

export function compileOwn(role: Role): OwnRole {
  const parsed: ParsedPermission[] = [];
  const invalid: { permission: string; problem: string }[] = [];
  for (const p of role.spec.permissions ?? []) {
    try {
      parsed.push(parsePermission(p));
    } catch (err) {
      if (!(err instanceof PermissionSyntaxError)) throw err;
      invalid.push({ permission: p, problem: err.message });
    }
  }
  (role.spec.rules ?? []).forEach((rule, i) => {
    try {
      parsed.push(...compileRule(rule, i));
    } catch (err) {
      if (!(err instanceof PermissionSyntaxError)) throw err;
      invalid.push({ permission: err.permission, problem: err.message });
    }
  });
  const atoms = parsed.map((p) => p.atom);
  return {
    parsed,
    invalid,
    includes: [...(role.spec.includes ?? [])],
    canAssign: [...(role.spec.canAssign ?? [])],
    matcher: new RoleMatcher(atoms),
    hasNamed: atoms.some((a) => a.kind === 'resource' && a.names !== null),
  };
}

/** Whether a role has grants GrantBits does not hold (resourceNames, non-resource URLs, `me`). */
export function needsMatcher(own: OwnRole): boolean {
  return own.parsed.some((p) => p.atom.kind !== 'resource' || p.atom.names !== null);
}

/** Breadth-first over includes from `name`, each role once, so cycles terminate. */
export function walkIncludes(name: string, ownRoles: ReadonlyMap<string, OwnRole>): string[] {
  if (!ownRoles.has(name)) return [];
  const order = [name];
  const seen = new Set<string>(order);
  for (let i = 0; i < order.length; i++) {
    for (const inc of ownRoles.get(order[i]!)!.includes) {
      if (seen.has(inc) || !ownRoles.has(inc)) continue;
      seen.add(inc);
      order.push(inc);
    }
  }
  return order;
}

/**
 * A role with its includes flattened: own atoms first, then included roles' breadth-first, each
 * role once; the missing includes it names itself; the shortest include cycle through it.
 */
export function flattenRole(name: string, ownRoles: ReadonlyMap<string, OwnRole>): CompiledRole | undefined {
  const own = ownRoles.get(name);
  if (!own) return undefined;
  const atoms: RoleAtom[] = [];
  const includes: string[] = [];
  const missing = new Set<string>();
  const canAssign = new Set<string>();
  const parent = new Map<string, string>();
  let cycle: string[] | null = null;
  const seen = new Set<string>([name]);
  const queue = [name];
  for (let i = 0; i < queue.length; i++) {
    const r = queue[i]!;
    const o = ownRoles.get(r)!;
    for (const p of o.parsed) atoms.push({ role: r, text: p.text, atom: p.atom });
    for (const c of o.canAssign) canAssign.add(c);
    for (const inc of o.includes) {
      if (inc === name && cycle === null) {
        // Breadth-first, so this is a shortest cycle through the role.
        const path = [name];
        for (let at = r; at !== name; at = parent.get(at)!) path.push(at);
        path.push(name);
        cycle = [name, ...path.slice(1, -1).reverse(), name];
      }
      if (seen.has(inc)) continue;
      seen.add(inc);
      if (!ownRoles.has(inc)) {
        // Only the role's own missing includes are its problem; deeper ones show on the role that names them.
        if (r === name) missing.add(inc);
        continue;
      }
      parent.set(inc, r);
      includes.push(inc);
      queue.push(inc);
    }
  }
  const plain = atoms.map((a) => a.atom);
  const compiled: CompiledRole = {
    name,
    atoms,
    matcher: new RoleMatcher(plain),
    hasNamed: plain.some((a) => a.kind === 'resource' && a.names !== null),
    includes,
    missingIncludes: [...missing].sort(),
    cycle,
    invalid: own.invalid,
    canAssign,
  };
  return compiled;
}

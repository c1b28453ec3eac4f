// The index's roles: each Role object compiled by itself (roles.ts compileOwn), its grant bits
// (grantbits.ts), and per role name a cell with a small id and the closure of roles it holds
// through includes, which decide() follows. A change to one role recompiles only that role; the
// closures and flattened roles that pass through it are refreshed, nothing else.
import type { Role } from '../api/types.js';
import { GrantBits, type TargetShape } from './grantbits.js';
import { addTo, EMPTY, removeFrom } from './multimap.js';
import { compileOwn, flattenRole, needsMatcher, walkIncludes, type CompiledRole, type OwnRole } from './roles.js';
import type { RoleCell } from './index-types.js';

interface MutableCell {
  id: number;
  closure: number[];
  needsMatcher: boolean;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export class RoleTable {
  private readonly roleMap = new Map<string, Role>();
  /** The Role objects, by name (read-only outside). */
  readonly objects: ReadonlyMap<string, Role> = this.roleMap;
  private readonly own = new Map<string, OwnRole>();
  /** Flattened roles (own + includes), built on first use and dropped when a role in them changes. */
  private readonly flattened = new Map<string, CompiledRole>();
  /** included role name -> roles whose spec.includes names it (present or not). */
  private readonly includedBy = new Map<string, Set<string>>();
  private readonly cells = new Map<string, MutableCell>();
  private readonly ownById: (OwnRole | undefined)[] = [];
  private readonly grantBits = new GrantBits();

  /** Whether a Role object of this name exists (included or bound roles may not). */
  has(name: string): boolean {
    return this.own.has(name);
  }

  /** A role's cell, created on first mention (a binding may name a role before it exists). */
  cell(name: string): RoleCell {
    return this.mutableCell(name);
  }

  /** `bulk`: leave closures to recompileAll() (a relist recompiles once at the end). */
  upsert(role: Role, bulk: boolean): void {
    const name = role.metadata.name;
    const old = this.own.get(name);
    const own = compileOwn(role);
    const cell = this.mutableCell(name);
    if (old) {
      for (const inc of old.includes) removeFrom(this.includedBy, inc, name);
      this.grantBits.setRole(cell.id, old.parsed.map((p) => p.atom), false);
    }
    this.roleMap.set(name, role);
    this.own.set(name, own);
    this.ownById[cell.id] = own;
    for (const inc of own.includes) addTo(this.includedBy, inc, name);
    this.grantBits.setRole(cell.id, own.parsed.map((p) => p.atom), true);
    if (!bulk) this.changed(name, !old || !sameList(old.includes, own.includes) || old.hasNamed !== own.hasNamed || needsMatcher(old) !== needsMatcher(own));
  }

  remove(name: string, bulk: boolean): void {
    const old = this.own.get(name);
    if (!old) return;
    const cell = this.mutableCell(name);
    for (const inc of old.includes) removeFrom(this.includedBy, inc, name);
    this.grantBits.setRole(cell.id, old.parsed.map((p) => p.atom), false);
    this.roleMap.delete(name);
    this.own.delete(name);
    this.ownById[cell.id] = undefined;
    if (!bulk) this.changed(name, true);
  }

  recompileAll(): void {
    this.flattened.clear();
    for (const [name] of this.cells) this.recomputeClosure(name);
  }

  /** The role with its includes flattened (built on first use, cached until a role in it changes). */
  compiled(name: string): CompiledRole | undefined {
    const cached = this.flattened.get(name);
    if (cached) return cached;
    const compiled = flattenRole(name, this.own);
    if (compiled) this.flattened.set(name, compiled);
    return compiled;
  }

  /** decide()'s fast path: a role's own compiled data by its cell id. */
  ownAt(id: number): OwnRole | undefined {
    return this.ownById[id];
  }

  /** decide()'s fast path: the roles (bitset over RoleCell.id) whose plain grants allow the shape. */
  bitsFor(t: TargetShape): Uint32Array {
    return this.grantBits.bitsFor(t);
  }

  /** Roles that include `name`, directly or not, and `name` itself. */
  includers(name: string): Set<string> {
    const seen = new Set<string>([name]);
    const queue = [name];
    for (let i = 0; i < queue.length; i++) {
      for (const r of this.includedBy.get(queue[i]!) ?? EMPTY) {
        if (!seen.has(r)) {
          seen.add(r);
          queue.push(r);
        }
      }
    }
    return seen;
  }

  /**
   * After a change to one role: drop the flattened roles that contain it, and, when what it
   * includes (or whether it exists) changed, recompute the closures that pass through it.
   */
  private changed(name: string, structural: boolean): void {
    for (const r of this.includers(name)) {
      this.flattened.delete(r);
      if (structural) this.recomputeClosure(r);
    }
  }

  private recomputeClosure(name: string): void {
    const cell = this.mutableCell(name);
    // Breadth-first over includes from `name`, each role once, so cycles terminate.
    const order = walkIncludes(name, this.own);
    cell.closure = order.map((r) => this.mutableCell(r).id);
    cell.needsMatcher = order.some((r) => needsMatcher(this.own.get(r)!));
  }

  private mutableCell(name: string): MutableCell {
    let c = this.cells.get(name);
    if (!c) {
      this.cells.set(name, (c = { id: this.ownById.length, closure: [], needsMatcher: false }));
      this.ownById.push(undefined);
      if (this.own.has(name)) this.recomputeClosure(name);
    }
    return c;
  }
}

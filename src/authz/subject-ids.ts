// Subjects (users, teams, groups) as small integers, so decide() compares numbers instead of
// chasing name strings, and the index keeps its per-subject lookups in arrays indexed by id.
// Ids are counted references: every holder (a compiled binding's subjects and team scope, a user
// record's aliases, a Team's own id and groups, a namespace's team label, the default team) takes
// one with acquire() and gives it back with release(); the last release frees the id and its name
// for reuse, so memory follows the objects that exist, not every name ever seen (issue 32, item 7:
// create/delete cycles of bindings with long Group subjects grew the operator without bound).
// Nothing outside the index and decide() sees ids, so an index and its rebuild may number
// differently. Id 0 is no subject: the index files a binding without subjects under it, and no
// request carries it.
import type { SubjectKind } from '../api/types.js';

/** The id no subject has (a binding without subjects is placed under it). */
export const NO_SUBJECT = 0;

export class SubjectIds {
  private readonly byKind: Readonly<Record<SubjectKind, Map<string, number>>> = { User: new Map(), Team: new Map(), Group: new Map() };
  private readonly names: string[] = [''];
  private readonly kinds: (SubjectKind | '')[] = [''];
  /** References per id (index 0 unused). */
  private readonly refs: number[] = [0];
  /** Freed ids, reused before the arrays grow. */
  private readonly free: number[] = [];
  private readonly arrays: unknown[][] = [];

  /** The id of a subject, assigned on first sight; the caller holds one reference until release(). */
  acquire(kind: SubjectKind, name: string): number {
    const map = this.byKind[kind];
    let id = map.get(name);
    if (id === undefined) {
      id = this.free.pop();
      if (id === undefined) {
        id = this.names.length;
        this.names.push(name);
        this.kinds.push(kind);
        this.refs.push(0);
        // Grow the id-indexed arrays densely: assigning far past the end would turn them into
        // dictionaries (hash lookups instead of indexing).
        for (const a of this.arrays) a.push(undefined);
      } else {
        this.names[id] = name;
        this.kinds[id] = kind;
      }
      map.set(name, id);
    }
    this.refs[id]!++;
    return id;
  }

  /** Gives back one reference; the last one frees the id (its slots in every array are emptied). */
  release(id: number): void {
    const n = this.refs[id];
    if (id === NO_SUBJECT || n === undefined || n <= 0) throw new Error(`subject id ${id} released more often than acquired`);
    if (n > 1) {
      this.refs[id] = n - 1;
      return;
    }
    this.refs[id] = 0;
    this.byKind[this.kinds[id] as SubjectKind].delete(this.names[id]!);
    this.names[id] = '';
    this.kinds[id] = '';
    // Every holder of an entry in these arrays held the id too, so they are empty by now; cleared
    // anyway so a reused id can never see a previous subject's entries.
    for (const a of this.arrays) a[id] = undefined;
    this.free.push(id);
  }

  /** The id of a subject already held by someone, without taking a reference. */
  find(kind: SubjectKind, name: string): number | undefined {
    return this.byKind[kind].get(name);
  }

  /** The name an id stands for (its kind is known where the id was taken). */
  name(id: number): string {
    return this.names[id]!;
  }

  /** How many ids are held now (tests: create/delete cycles come back to the same count). */
  get live(): number {
    return this.byKind.User.size + this.byKind.Team.size + this.byKind.Group.size;
  }

  /** How many ids were ever allocated (live + free): the length of every id-indexed array. */
  get capacity(): number {
    return this.names.length - 1;
  }

  /** A new array indexed by subject id, kept as long as the ids. */
  array<V>(): (V | undefined)[] {
    const a: (V | undefined)[] = [];
    for (let i = 0; i < this.names.length; i++) a.push(undefined);
    this.arrays.push(a);
    return a;
  }
}

// Subjects (users, teams, groups) as small integers, so decide() compares numbers instead of
// chasing name strings, and the index keeps its per-subject lookups in arrays indexed by id.
// Ids are never reused or freed (bounded by the distinct names ever seen); nothing outside the
// index and decide() sees them, so an index and its rebuild may number differently. Id 0 is no
// subject: the index files a binding without subjects under it, and no request carries it.
import type { SubjectKind } from '../api/types.js';

/** The id no subject has (a binding without subjects is placed under it). */
export const NO_SUBJECT = 0;

export class SubjectIds {
  private readonly byKind: Readonly<Record<SubjectKind, Map<string, number>>> = { User: new Map(), Team: new Map(), Group: new Map() };
  private readonly names: string[] = [''];
  private readonly arrays: unknown[][] = [];

  /** The id of a subject, assigned on first sight. */
  id(kind: SubjectKind, name: string): number {
    const map = this.byKind[kind];
    let id = map.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(name);
      map.set(name, id);
      // Grow the id-indexed arrays densely: assigning far past the end would turn them into
      // dictionaries (hash lookups instead of indexing).
      for (const a of this.arrays) a.push(undefined);
    }
    return id;
  }

  /** The id of a subject already seen, without assigning one. */
  find(kind: SubjectKind, name: string): number | undefined {
    return this.byKind[kind].get(name);
  }

  /** The name an id stands for (its kind is known where the id was taken). */
  name(id: number): string {
    return this.names[id]!;
  }

  /** A new array indexed by subject id, kept as long as the ids. */
  array<V>(): (V | undefined)[] {
    const a: (V | undefined)[] = [];
    for (let i = 0; i < this.names.length; i++) a.push(undefined);
    this.arrays.push(a);
    return a;
  }
}

// What the controller needs from the permission index. Kept small so the controller does not
// depend on the index's internals; src/authz's PermissionIndex satisfies it through
// indexSinkFor() in controller.ts.
import type { KubeObject } from './informer.js';

export type IndexKind = 'User' | 'Role' | 'Team' | 'RoleBinding' | 'Namespace';

export interface IndexChange {
  type: 'upsert' | 'delete';
  kind: IndexKind;
  object: KubeObject;
}

export interface IndexSink {
  apply(change: IndexChange): void;
  /** Everything of `kind` that exists now; anything else of that kind leaves the index. */
  replaceAll(kind: IndexKind, objects: readonly KubeObject[]): void;
  /** Every kind has been listed once. */
  markSynced(): void;
  /** A binding's expiresAt has passed: the index's answers changed without an object changing. */
  expire(now: number): void;
  readonly generation: number;
  /** Why a permission string does not parse, or undefined (the core's grammar). */
  permissionProblem(permission: string): string | undefined;
}

/** A plain in-memory sink: the objects by kind and name, for tests and tools. */
export interface MemorySink extends IndexSink {
  readonly objects: ReadonlyMap<IndexKind, ReadonlyMap<string, KubeObject>>;
  readonly synced: boolean;
}

export function createMemorySink(permissionProblem: (p: string) => string | undefined = () => undefined): MemorySink {
  const objects = new Map<IndexKind, Map<string, KubeObject>>();
  const of = (kind: IndexKind): Map<string, KubeObject> => {
    let m = objects.get(kind);
    if (!m) objects.set(kind, (m = new Map()));
    return m;
  };
  let generation = 0;
  let synced = false;
  return {
    apply(change) {
      if (change.type === 'delete') of(change.kind).delete(change.object.metadata.name);
      else of(change.kind).set(change.object.metadata.name, change.object);
      generation++;
    },
    replaceAll(kind, objs) {
      const m = of(kind);
      m.clear();
      for (const o of objs) m.set(o.metadata.name, o);
      generation++;
    },
    markSynced() {
      synced = true;
      generation++;
    },
    expire() {
      generation++;
    },
    get generation() {
      return generation;
    },
    get synced() {
      return synced;
    },
    permissionProblem,
    objects,
  };
}

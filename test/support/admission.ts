// Builders for the admission policy's tests: a world (objects + configuration) made into a real
// PermissionIndex, and AdmissionInputs for create / update / delete as someone.
import type { Namespace, Role, RoleBinding, Team, User } from '../../src/api/types.js';
import { PermissionIndex, type World } from '../../src/authz/index.js';
import { parseConfig } from '../../src/config.js';
import type { AdmissionContext, AdmissionInput, AdmissionKind } from '../../src/admission/types.js';
import { createPolicyView } from '../../src/admission/view.js';

export const NOW = Date.parse('2026-06-01T00:00:00Z');

export interface Who {
  user: string;
  groups: string[];
}
export const as = (user: string, groups: string[] = []): Who => ({ user, groups });
export const MASTERS = as('admin', ['system:masters']);
export const OPERATOR = as('system:serviceaccount:gatehouse-system:gatehouse');

export function context(world: World, raw: Record<string, unknown> = {}, opts: { synced?: boolean } = {}): AdmissionContext & { index: PermissionIndex } {
  const config = parseConfig(raw);
  const index = PermissionIndex.build(world, config, () => NOW);
  const view = createPolicyView(index, () => NOW);
  return { index, config, view: () => (opts.synced === false ? undefined : view), now: () => NOW };
}

type Obj = User | Role | Team | RoleBinding | Namespace;

function input(operation: AdmissionInput['operation'], kind: AdmissionKind, object: Obj | null, oldObject: Obj | null, who: Who, extra: Partial<AdmissionInput> = {}): AdmissionInput {
  const name = (object ?? oldObject)?.metadata.name ?? '';
  return { operation, kind, name, object: object ? structuredClone(object) : null, oldObject: oldObject ? structuredClone(oldObject) : null, requester: who, dryRun: false, ...extra };
}

export function kindOf(o: Obj): AdmissionKind {
  return (o.kind ?? 'Namespace') as AdmissionKind;
}
export const create = (o: Obj, who: Who, extra?: Partial<AdmissionInput>) => input('CREATE', kindOf(o), o, null, who, extra);
export const update = (old: Obj, o: Obj, who: Who, extra?: Partial<AdmissionInput>) => input('UPDATE', kindOf(o), o, old, who, extra);
export const remove = (old: Obj, who: Who, extra?: Partial<AdmissionInput>) => input('DELETE', kindOf(old), null, old, who, extra);

/** A copy of `o` with `change` applied to it. */
export function edit<T extends Obj>(o: T, change: (copy: T) => void): T {
  const copy = structuredClone(o);
  change(copy);
  return copy;
}

/** Applies a JSONPatch of `add` / `replace` ops (what the mutation returns) to a copy. */
export function applyPatch<T>(obj: T, patch: Array<{ op: string; path: string; value?: unknown }>): T {
  const copy = structuredClone(obj) as unknown as Record<string, unknown>;
  for (const op of patch) {
    const keys = op.path.split('/').slice(1).map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    let target = copy;
    for (const k of keys.slice(0, -1)) target = target[k] as Record<string, unknown>;
    const last = keys[keys.length - 1]!;
    if (op.op === 'remove') delete target[last];
    else target[last] = structuredClone(op.value);
  }
  return copy as unknown as T;
}

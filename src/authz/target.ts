// The request as decide() compares roles against it, and the one role-against-target check. Its own
// module so that src/requests/hint.ts (which decide.ts calls) uses the same ones without an import
// cycle; decide.ts re-exports both.
import type { CompiledRole } from './index.js';
import { resourceKeys } from './matcher.js';
import { isExplicitVerb } from './permission.js';
import type { AccessRequest } from './types.js';

/** What decide() compares a role against, computed once per request. */
export interface PreparedTarget {
  readonly namespace: string | undefined;
  readonly verb: string;
  readonly group: string;
  readonly resource: string;
  readonly subresource: string | undefined;
  readonly name: string | undefined;
  readonly keys: readonly string[];
  /** The verb must be named by a grant: a `*` action does not reach it (EXPLICIT_VERBS). */
  readonly verbNamed: boolean;
  /** Set for non-resource requests. */
  readonly path: string | undefined;
}

export function prepareTarget(req: Pick<AccessRequest, 'resource' | 'nonResource'>): PreparedTarget | null {
  if (req.resource) {
    const r = req.resource;
    const sub = r.subresource || undefined;
    return {
      namespace: r.namespace || undefined,
      verb: r.verb,
      group: r.group ?? '',
      resource: r.resource,
      subresource: sub,
      name: r.name || undefined,
      keys: resourceKeys(r.group ?? '', r.resource, sub),
      verbNamed: isExplicitVerb(r.verb, r.group ?? '', r.resource),
      path: undefined,
    };
  }
  if (req.nonResource) {
    return { namespace: undefined, verb: req.nonResource.verb, group: '', resource: '', subresource: undefined, name: undefined, keys: [], verbNamed: false, path: req.nonResource.path };
  }
  return null;
}

/** Whether a role grants the target, scope aside. */
export function roleGrants(role: CompiledRole | undefined, t: PreparedTarget): boolean {
  if (!role) return false;
  if (t.path !== undefined) return role.matcher.matchesPath(t.path, t.verb);
  return role.matcher.matchesResource(t.keys, t.group, t.verb, t.name, t.verbNamed);
}

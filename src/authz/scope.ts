// The vocabulary of scope, in one place (docs/architecture.md):
//   Scope         what a RoleBinding says (src/api/types.ts): the cluster, teams, or namespaces;
//   CompiledScope the index's form of a Scope (sets, for has() on decide()'s path);
//   GrantScope    one place a grant holds: the cluster, one namespace (maybe through a team's
//                 scope), or one team's scope (delegated administration);
//   HeldScopes    every place a requester holds a permission (admission's delegated check).
// and the one renderer, scopeText(), whose styles are every way Gatehouse writes a scope.
// scopeParts() splits a scope into GrantScopes (what admission checks part by part).
import type { Scope } from '../api/types.js';

export type { Scope };

export type GrantScope =
  | { kind: 'cluster' }
  | { kind: 'namespace'; namespace: string; via?: { team: string } }
  /** Delegated administration: the permission is held in a team's scope (not a namespace request). */
  | { kind: 'team'; team: string };

export type CompiledScope =
  | { readonly kind: 'cluster' }
  | { readonly kind: 'namespaces'; readonly namespaces: ReadonlySet<string> }
  | { readonly kind: 'teams'; readonly teams: ReadonlySet<string> };

/** Where a requester holds a permission. `cluster` covers everything. */
export interface HeldScopes {
  cluster: boolean;
  /** Namespaces where the permission is held (directly or through a team's namespaces). */
  namespaces: readonly string[];
  /** Teams in whose scope the permission is held. */
  teams: readonly string[];
}

export function compileScope(scope: Scope | undefined): CompiledScope {
  const s = scope ?? {};
  if (s.cluster) return { kind: 'cluster' };
  if (s.teams) return { kind: 'teams', teams: new Set(s.teams) };
  // No scope kind (the schema forbids it) grants nowhere rather than everywhere.
  return { kind: 'namespaces', namespaces: new Set(s.namespaces ?? []) };
}

/**
 * How a scope is written:
 * - `label`: a binding's scope in a column, a status or a summary: `cluster`, `teams: a,b`, `namespaces: x`;
 * - `noun`: in a sentence, after "in" or "to": `the whole cluster`, `teams a, b`, `namespace x`;
 * - `where`: a grant's place in a decision's reason: `cluster-wide`, `in namespace x (scope team t)`,
 *   `in team t's scope`;
 * - `flag`: the CLI's `--scope` syntax (and a User's `role@scope` status): `cluster`, `team:t`, `namespace:x`.
 */
export type ScopeStyle = 'label' | 'noun' | 'where' | 'flag';

export function scopeText(scope: Scope | CompiledScope | GrantScope, style: ScopeStyle = 'label'): string {
  // decide() renders a GrantScope in every allow's reason: that case allocates nothing but the text.
  if (!isApiScope(scope)) {
    switch (scope.kind) {
      case 'cluster':
        return render('cluster', '', style, undefined);
      case 'team':
        return render('team', scope.team, style, undefined);
      case 'namespace':
        return render('namespace', scope.namespace, style, scope.via?.team);
      case 'teams':
        return render('team', [...scope.teams], style, undefined);
      case 'namespaces':
        return render('namespace', [...scope.namespaces], style, undefined);
    }
  }
  if (scope.cluster) return render('cluster', '', style, undefined);
  if (scope.teams) return render('team', scope.teams, style, undefined);
  return render('namespace', scope.namespaces ?? [], style, undefined);
}

/** `names` is one name, or a list (a whole scope). */
function render(kind: 'cluster' | 'team' | 'namespace', names: string | readonly string[], style: ScopeStyle, via: string | undefined): string {
  if (kind === 'cluster') return style === 'noun' ? 'the whole cluster' : style === 'where' ? 'cluster-wide' : 'cluster';
  const count = typeof names === 'string' ? 1 : names.length;
  switch (style) {
    case 'label':
      return count === 0 ? '<none>' : `${kind}s: ${joined(names, ',')}`;
    case 'flag':
      return `${kind}:${joined(names, ',')}`;
    case 'noun':
      return count === 0 ? 'an empty scope' : `${count === 1 ? kind : `${kind}s`} ${joined(names, ', ')}`;
    case 'where': {
      if (count === 0) return 'nowhere';
      const scoped = kind === 'team' ? (count === 1 ? "'s scope" : "' scopes") : '';
      return `in ${count === 1 ? kind : `${kind}s`} ${joined(names, ', ')}${scoped}${via !== undefined ? ` (scope team ${via})` : ''}`;
    }
  }
}

/**
 * A RoleBinding's scope as written, told from the two `kind` forms by its own fields, so that a
 * stray `kind` key in an object under admission cannot make it read as another scope.
 */
function isApiScope(scope: Scope | CompiledScope | GrantScope): scope is Scope {
  if (!('kind' in scope)) return true;
  const s = scope as Scope;
  return s.cluster !== undefined || Array.isArray(s.teams) || Array.isArray(s.namespaces);
}

function joined(names: string | readonly string[], sep: string): string {
  return typeof names === 'string' ? names : names.join(sep);
}

/** One part per team or namespace a scope names (the cluster is one part). */
export function scopeParts(scope: Scope | CompiledScope): GrantScope[] {
  if (!isApiScope(scope)) {
    if (scope.kind === 'cluster') return [{ kind: 'cluster' }];
    if (scope.kind === 'teams') return [...scope.teams].map((team) => ({ kind: 'team', team }));
    return [...scope.namespaces].map((namespace) => ({ kind: 'namespace', namespace }));
  }
  if (scope.cluster) return [{ kind: 'cluster' }];
  if (scope.teams) return scope.teams.map((team) => ({ kind: 'team', team }));
  return (scope.namespaces ?? []).map((namespace) => ({ kind: 'namespace', namespace }));
}

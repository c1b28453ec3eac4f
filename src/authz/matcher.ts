// A role's atoms compiled into lookups, so decide() answers "does this role grant (verb, group,
// resource[/sub], name)?" with a handful of Map/Set probes instead of a scan.
import type { NonResourceAtom, PermissionAtom } from './permission.js';
import { isExplicitOnly } from './permission.js';

// Allocated lazily: a role update recompiles every role that includes it, so fewer objects per
// entry means less garbage on the update path.
interface VerbEntry {
  all: boolean;
  verbs: Set<string> | null;
  /** Grants limited by resourceNames; checked one by one (rare). */
  named: { verbs: ReadonlySet<string> | null; names: ReadonlySet<string> }[] | null;
}

/**
 * The resource keys a request is looked up under, most specific first: `pods` for pods,
 * `pods/log`, `pods/*`, `*`, `*\/log` for a subresource. Computed once per request. A target a
 * wildcard never reaches (isExplicitOnly: Secrets, pods/exec, nodes/proxy, ...) has only its own
 * exact key, so neither the matcher nor GrantBits finds a wildcard grant for it.
 */
export function resourceKeys(group: string, resource: string, subresource?: string): string[] {
  if (isExplicitOnly(group, resource, subresource)) return [subresource ? `${resource}/${subresource}` : resource];
  if (!subresource) return [resource, '*'];
  return [`${resource}/${subresource}`, `${resource}/*`, '*', `*/${subresource}`];
}

export function atomKey(resource: string, subresource: string | null): string {
  if (resource === '*') return subresource === null || subresource === '*' ? '*' : `*/${subresource}`;
  return subresource === null ? resource : `${resource}/${subresource}`;
}

/** One resource key's grants: for any group (the common case, no second lookup) and per group. */
interface ResourceEntry {
  any: VerbEntry | undefined;
  groups: Map<string, VerbEntry> | undefined;
}

export class RoleMatcher {
  private readonly byResource = new Map<string, ResourceEntry>();
  private readonly nonResource: NonResourceAtom[] = [];
  readonly me: boolean;

  constructor(atoms: Iterable<PermissionAtom>) {
    let me = false;
    for (const atom of atoms) {
      if (atom.kind === 'me') me = true;
      else if (atom.kind === 'nonResource') this.nonResource.push(atom);
      else {
        const rk = atomKey(atom.resource, atom.subresource);
        let re = this.byResource.get(rk);
        if (!re) this.byResource.set(rk, (re = { any: undefined, groups: undefined }));
        let entry: VerbEntry | undefined;
        if (atom.group === null) entry = re.any ??= { all: false, verbs: null, named: null };
        else {
          const groups = (re.groups ??= new Map());
          entry = groups.get(atom.group);
          if (!entry) groups.set(atom.group, (entry = { all: false, verbs: null, named: null }));
        }
        if (atom.names !== null) (entry.named ??= []).push({ verbs: atom.verbs, names: atom.names });
        else if (atom.verbs === null) entry.all = true;
        else if (entry.verbs === null) entry.verbs = new Set(atom.verbs);
        else for (const v of atom.verbs) entry.verbs.add(v);
      }
    }
    this.me = me;
  }

  /**
   * `keys` from resourceKeys(); `group` '' is the core group. `verbNamed`: the verb is one a `*`
   * action never reaches (isExplicitVerb: impersonate, bind, escalate, ...), so only grants that
   * list it count.
   */
  matchesResource(keys: readonly string[], group: string, verb: string, name: string | undefined, verbNamed = false): boolean {
    for (const rk of keys) {
      const re = this.byResource.get(rk);
      if (re === undefined) continue;
      if (re.any !== undefined && entryMatches(re.any, verb, name, verbNamed)) return true;
      if (re.groups !== undefined && entryMatches(re.groups.get(group), verb, name, verbNamed)) return true;
    }
    return false;
  }

  matchesPath(path: string, verb: string): boolean {
    for (const a of this.nonResource) {
      if (a.verbs && !a.verbs.has(verb)) continue;
      if (a.prefix ? path.startsWith(a.path) : path === a.path) return true;
    }
    return false;
  }
}

function entryMatches(entry: VerbEntry | undefined, verb: string, name: string | undefined, verbNamed: boolean): boolean {
  if (!entry) return false;
  if ((entry.all && !verbNamed) || (entry.verbs !== null && entry.verbs.has(verb))) return true;
  if (name === undefined || entry.named === null) return false;
  for (const n of entry.named) if (((n.verbs === null && !verbNamed) || n.verbs?.has(verb) === true) && n.names.has(name)) return true;
  return false;
}

// A role's atoms compiled into lookups, so decide() answers "does this role grant (verb, group,
// resource[/sub], name)?" with a handful of Map/Set probes instead of a scan.
import type { NonResourceAtom, PermissionAtom } from './permission.js';

/** Group key meaning "any API group"; real group names never contain `*`. */
const ANY_GROUP = '*';

interface VerbEntry {
  all: boolean;
  verbs: Set<string>;
  /** Grants limited by resourceNames; checked one by one (rare). */
  named: { verbs: ReadonlySet<string> | null; names: ReadonlySet<string> }[];
}

/**
 * The resource keys a request is looked up under, most specific first: `pods` for pods,
 * `pods/log`, `pods/*`, `*`, `*\/log` for a subresource. Computed once per request.
 */
export function resourceKeys(resource: string, subresource?: string): string[] {
  if (!subresource) return [resource, '*'];
  return [`${resource}/${subresource}`, `${resource}/*`, '*', `*/${subresource}`];
}

function atomKey(resource: string, subresource: string | null): string {
  if (resource === '*') return subresource === null || subresource === '*' ? '*' : `*/${subresource}`;
  return subresource === null ? resource : `${resource}/${subresource}`;
}

export class RoleMatcher {
  private readonly byResource = new Map<string, Map<string, VerbEntry>>();
  private readonly nonResource: NonResourceAtom[] = [];
  readonly me: boolean;

  constructor(atoms: Iterable<PermissionAtom>) {
    let me = false;
    for (const atom of atoms) {
      if (atom.kind === 'me') me = true;
      else if (atom.kind === 'nonResource') this.nonResource.push(atom);
      else {
        const rk = atomKey(atom.resource, atom.subresource);
        let groups = this.byResource.get(rk);
        if (!groups) this.byResource.set(rk, (groups = new Map()));
        const gk = atom.group ?? ANY_GROUP;
        let entry = groups.get(gk);
        if (!entry) groups.set(gk, (entry = { all: false, verbs: new Set(), named: [] }));
        if (atom.names !== null) entry.named.push({ verbs: atom.verbs, names: atom.names });
        else if (atom.verbs === null) entry.all = true;
        else for (const v of atom.verbs) entry.verbs.add(v);
      }
    }
    this.me = me;
  }

  /** `keys` from resourceKeys(); `group` '' is the core group. */
  matchesResource(keys: readonly string[], group: string, verb: string, name: string | undefined): boolean {
    for (const rk of keys) {
      const groups = this.byResource.get(rk);
      if (!groups) continue;
      if (entryMatches(groups.get(group), verb, name) || entryMatches(groups.get(ANY_GROUP), verb, name)) return true;
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

function entryMatches(entry: VerbEntry | undefined, verb: string, name: string | undefined): boolean {
  if (!entry) return false;
  if (entry.all || entry.verbs.has(verb)) return true;
  if (name === undefined) return false;
  for (const n of entry.named) if ((n.verbs === null || n.verbs.has(verb)) && n.names.has(name)) return true;
  return false;
}

// Policy as code (issue 25): where the offline answers' objects come from. PATH arguments (files,
// folders, `-` for stdin) become manifests; manifests become documents that keep their file and
// document index for messages; the chart's values become the operator's policy configuration; and
// the world is what the cluster would hold after Argo CD applied the files and the operator added
// what it keeps itself (seed admins, preset Roles). No network anywhere in this module.
import path from 'node:path';
import yaml from 'js-yaml';
import { API_VERSION, type Namespace, type Role, type RoleBinding, type Team, type User } from '../api/types.js';
import type { World } from '../authz/index.js';
import { presetRoles } from '../authz/presets.js';
import { parseConfig, type GatehouseConfig, type PolicyConfig } from '../config.js';
import { desiredSeedUser } from '../controller/seeds.js';
import { ConfigError } from '../errors.js';
import { usageError } from '../client/errors.js';
import type { AdmissionKind } from '../admission/types.js';
import type { Manifest } from '../client/world.js';
import { schemaErrors } from './schema.js';
import { ClusterIdentityError, parseClusterIdentity } from '../fleet/identity.js';
import type { GatehouseKind } from '../api/types.js';

/** What reading PATHs needs from the process (main.ts gives the real one; tests a map). */
export interface PolicyIO {
  readFile(file: string): string;
  /** The entries of `dir` (names, not paths), or undefined when `dir` is not a folder. */
  listDir?(dir: string): string[] | undefined;
}

const MANIFEST_EXT = /\.(ya?ml|json)$/i;

/**
 * The manifests under `paths`: a file as it is, a folder's YAML and JSON files (recursively, in
 * name order, so messages and answers do not depend on the file system's order), `-` for stdin
 * (main.ts reads fd 0 for it). An unreadable path is a usage error naming it.
 */
export function readManifests(paths: readonly string[], io: PolicyIO): Manifest[] {
  const out: Manifest[] = [];
  const visit = (p: string, top: boolean): void => {
    const entries = p === '-' ? undefined : io.listDir?.(p);
    if (entries) {
      for (const e of [...entries].sort()) {
        if (e.startsWith('.')) continue;
        const child = path.join(p, e);
        const sub = io.listDir?.(child);
        if (sub) visit(child, false);
        else if (MANIFEST_EXT.test(e)) visit(child, false);
      }
      return;
    }
    let text: string;
    try {
      text = io.readFile(p);
    } catch (err) {
      throw usageError(`${p === '-' ? 'stdin' : p}: cannot read: ${(err as Error).message}`);
    }
    if (top || MANIFEST_EXT.test(p)) out.push({ name: p === '-' ? '<stdin>' : p, text });
  };
  for (const p of paths) visit(p, true);
  return out;
}

/** One YAML document of a manifest, where it came from, and whether it is one of the kinds Gatehouse reads. */
export interface PolicyDoc {
  file: string;
  /** The document's place in its file, from 0 (a `kind: List` item: the List's index). */
  index: number;
  /** `items[3]` for a List's item, '' otherwise. */
  item: string;
  object: Record<string, unknown>;
  /** User, Role, Team, RoleBinding (iam.gatehouse.dev) or Namespace (v1); undefined: another kind. */
  kind: AdmissionKind | undefined;
  name: string;
}

/** A document that could not be read at all (not YAML, not an object). */
export interface DocProblem {
  file: string;
  index: number;
  message: string;
}

export function kindOf(o: Record<string, unknown>): AdmissionKind | undefined {
  if (o['apiVersion'] === API_VERSION && ['User', 'Role', 'Team', 'RoleBinding'].includes(o['kind'] as string)) return o['kind'] as AdmissionKind;
  if (o['apiVersion'] === 'v1' && o['kind'] === 'Namespace') return 'Namespace';
  return undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every document of `manifests`, a List opened into its items; what cannot be read is a problem, not a throw. */
export function documents(manifests: readonly Manifest[]): { docs: PolicyDoc[]; problems: DocProblem[] } {
  const docs: PolicyDoc[] = [];
  const problems: DocProblem[] = [];
  for (const m of manifests) {
    let loaded: unknown[];
    try {
      loaded = yaml.loadAll(m.text);
    } catch (err) {
      const mark = (err as { mark?: { line?: number } }).mark;
      problems.push({ file: m.name, index: -1, message: `not YAML${mark?.line !== undefined ? ` (line ${mark.line + 1})` : ''}: ${(err as Error).message.split('\n')[0]}` });
      continue;
    }
    let index = 0;
    for (const d of loaded) {
      const here = index++;
      if (d === null || d === undefined) continue;
      if (!isRecord(d)) {
        problems.push({ file: m.name, index: here, message: 'a document that is not an object' });
        continue;
      }
      const take = (o: Record<string, unknown>, item: string): void => {
        const meta = o['metadata'];
        const name = isRecord(meta) && typeof meta['name'] === 'string' ? meta['name'] : '';
        docs.push({ file: m.name, index: here, item, object: o, kind: kindOf(o), name });
      };
      if (d['kind'] === 'List' && Array.isArray(d['items'])) {
        d['items'].forEach((it, i) => {
          if (isRecord(it)) take(it, `items[${i}]`);
          else problems.push({ file: m.name, index: here, message: `items[${i}] is not an object` });
        });
      } else take(d, '');
    }
  }
  return { docs, problems };
}

/** The keys of the chart's values.yaml that are the operator's policy configuration (helm/gatehouse/templates/_helpers.tpl, gatehouse.config). */
const POLICY_KEYS = ['seedAdmins', 'defaults', 'projects', 'teams', 'registration', 'authorization', 'presets'] as const;

/** Helm's merge of values files: maps key by key, recursively; lists and scalars replaced; null removes. */
function helmMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else out[k] = isRecord(out[k]) && isRecord(v) ? helmMerge(out[k] as Record<string, unknown>, v) : v;
  }
  return out;
}

/**
 * The policy configuration the chart would render from values files (`helm -f a.yaml -f b.yaml`:
 * later files win, merged as Helm merges them): the keys the chart copies verbatim into the
 * operator's config, checked by the operator's own parseConfig. A file that only overrides a few
 * keys needs the chart's values.yaml before it, as Helm has it.
 */
export function valuesConfig(layers: ReadonlyArray<{ text: string; source: string }>): GatehouseConfig {
  const read = (t: string, s: string): Record<string, unknown> => {
    let v: unknown;
    try {
      v = yaml.load(t);
    } catch (err) {
      throw usageError(`${s}: not YAML: ${(err as Error).message.split('\n')[0]}`);
    }
    if (v === null || v === undefined) return {};
    if (!isRecord(v)) throw usageError(`${s}: must be a mapping`);
    return v;
  };
  let merged: Record<string, unknown> = {};
  for (const l of layers) merged = helmMerge(merged, read(l.text, l.source));
  // `cluster: {name, labels}` (issue 30): who the cluster these values are for is; the offline
  // answers hold the objects as that cluster would.
  const rawCluster = merged['cluster'];
  merged = Object.fromEntries(POLICY_KEYS.filter((k) => merged[k] !== undefined).map((k) => [k, merged[k]]));
  const source = layers.map((l) => l.source).join(' + ');
  let config: GatehouseConfig;
  try {
    config = parseConfig(merged, source);
  } catch (err) {
    if (err instanceof ConfigError) throw usageError(`--values: ${err.message}`);
    throw err;
  }
  // The chart's values are not among POLICY_KEYS' verbatim copies: parseConfig saw none, so its
  // cluster is the unnamed default, and the values' own is read here.
  if (rawCluster === undefined || rawCluster === null) return config;
  // The chart's default `cluster: {name: ""}` names no cluster: as if unset (UNNAMED_CLUSTER).
  if (isRecord(rawCluster) && (rawCluster['name'] === undefined || rawCluster['name'] === null || rawCluster['name'] === '')) return config;
  let cluster;
  try {
    cluster = parseClusterIdentity(rawCluster, `--values ${source}: cluster`);
  } catch (err) {
    if (err instanceof ClusterIdentityError) throw usageError(err.message);
    throw err;
  }
  return { ...config, cluster };
}

/**
 * The world the cluster would hold: the files' Users, Roles, Teams, RoleBindings and Namespaces,
 * with the objects the operator keeps from the configuration in their place (a seed admin's User
 * and an enabled preset's Role win over a file's object of the same name, as the operator
 * restores them). The first object of a kind and name wins; lint reports the duplicates.
 */
/** Whether the API server would refuse the object before admission (its CRD schema, its name). */
export function schemaRefused(d: PolicyDoc): boolean {
  return d.kind !== undefined && d.kind !== 'Namespace' && schemaErrors(d.kind as GatehouseKind, d.object).length > 0;
}

export function policyWorld(docs: readonly PolicyDoc[], config: PolicyConfig, refused: ReadonlySet<PolicyDoc> = new Set(docs.filter(schemaRefused))): Required<World> {
  const seen = new Set<string>();
  const users: User[] = [];
  const roles: Role[] = [];
  const teams: Team[] = [];
  const bindings: RoleBinding[] = [];
  const namespaces: Namespace[] = [];
  const add = (kind: string, name: string, o: unknown): void => {
    const key = `${kind}/${name}`;
    if (seen.has(key)) return;
    seen.add(key);
    if (kind === 'User') users.push(o as User);
    else if (kind === 'Role') roles.push(o as Role);
    else if (kind === 'Team') teams.push(o as Team);
    else if (kind === 'RoleBinding') bindings.push(o as RoleBinding);
    else namespaces.push(o as Namespace);
  };
  for (const seed of config.seedAdmins) {
    const u = desiredSeedUser(seed);
    add('User', u.metadata.name, u);
  }
  for (const r of presetRoles(config.presets)) add('Role', r.metadata.name, r);
  // An object the API server would refuse never exists in the cluster (and the index never sees
  // such a shape): lint reports it, the answers leave it out only after refusing to answer.
  for (const d of docs) if (d.kind && d.name && !refused.has(d)) add(d.kind, d.name, d.object);
  return { users, roles, teams, bindings, namespaces };
}

/** `--values FILE` or `--config FILE` (the operator's own file), never both; neither: the built-in defaults. */
export function configFrom(opts: { values?: readonly string[]; config?: string }, readFile: (f: string) => string): { config: GatehouseConfig; source: string } {
  const values = opts.values ?? [];
  if (values.length && opts.config) throw usageError('give --values (the chart\'s values.yaml) or --config (the operator\'s file), not both');
  if (values.length) {
    const layers = values.map((f) => {
      try {
        return { text: readFile(f), source: f };
      } catch (err) {
        throw usageError(`--values ${f}: cannot read: ${(err as Error).message}`);
      }
    });
    return { config: valuesConfig(layers), source: `policy from the chart values ${values.join(' + ')}` };
  }
  if (opts.config) {
    let text: string;
    try {
      text = readFile(opts.config);
    } catch (err) {
      throw usageError(`--config ${opts.config}: cannot read: ${(err as Error).message}`);
    }
    let raw: unknown;
    try {
      raw = yaml.load(text) ?? {};
    } catch (err) {
      throw usageError(`--config ${opts.config}: not YAML: ${(err as Error).message.split('\n')[0]}`);
    }
    try {
      return { config: parseConfig(raw, opts.config), source: `policy from ${opts.config}` };
    } catch (err) {
      if (err instanceof ConfigError) throw usageError(`--config: ${err.message}`);
      throw err;
    }
  }
  return { config: parseConfig({}), source: 'default policy (no --values or --config: no seed admins, project roles or defaults)' };
}

/** Everything an offline answer is built from; `--cluster` (issue 30) will pick among several. */
export interface PolicySet {
  manifests: Manifest[];
  docs: PolicyDoc[];
  problems: DocProblem[];
  /** Objects the API server would refuse before admission (lint says why); left out of `world`. */
  refused: PolicyDoc[];
  /** The whole parsed configuration (admission reads its operator and teams sections too). */
  config: GatehouseConfig;
  configSource: string;
  world: Required<World>;
  /** `3 files` for the source line. */
  describe: string;
}

export function loadPolicySet(paths: readonly string[], opts: { values?: readonly string[]; config?: string }, io: PolicyIO): PolicySet {
  const manifests = readManifests(paths, io);
  const { docs, problems } = documents(manifests);
  const { config, source } = configFrom(opts, io.readFile);
  const refused = docs.filter(schemaRefused);
  return {
    manifests,
    docs,
    problems,
    refused,
    config,
    configSource: source,
    world: policyWorld(docs, config, new Set(refused)),
    describe: `${manifests.length} file${manifests.length === 1 ? '' : 's'} (${paths.join(', ')})`,
  };
}

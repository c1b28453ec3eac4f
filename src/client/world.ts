// The world a person's question is answered over: the Users, Roles, Teams, RoleBindings and
// Namespaces the caller may list, and the permission index built from them with the operator's
// own code. One interface (WorldSource), so every query runs the same over any source: the live
// one lists through the caller's client (a refusal narrows the answer and is reported); the file
// one reads the same kinds from YAML manifests (`--from`, issue 25).
import yaml from 'js-yaml';
import { API_VERSION, type Namespace, type Role, type RoleBinding, type Team, type User } from '../api/types.js';
import { PermissionIndex, type World } from '../authz/index.js';
import { loadConfig, parseConfig, type PolicyConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { ClientError, usageError } from './errors.js';
import type { GatehouseClient } from './kube.js';
import { describeCluster } from '../fleet/identity.js';

/** What the caller could not list, with the API server's reason; the answer may then miss something. */
export interface Unreadable {
  what: string;
  why: string;
}

export interface Snapshot {
  index: PermissionIndex;
  counts: { users: number; roles: number; teams: number; rolebindings: number; namespaces: number };
  unreadable: Unreadable[];
  /** Where the policy configuration came from. */
  config: string;
  /** The objects as listed (the console's pages show them as well as asking the index). */
  world: Required<World>;
  /** Set when the objects came from files (`--from`, issue 25): what they were. */
  files?: string;
}

/** `--config FILE` is the operator's configuration file (the Helm values' policy part). */
export function policyFrom(file: string | undefined, readFile: (f: string) => string): { config: PolicyConfig; source: string } {
  if (!file) return { config: parseConfig({}), source: 'default policy (no --config: no seed admins, project roles or defaults)' };
  try {
    return { config: loadConfig({ argv: ['--config', file], env: {}, readFile }), source: `policy from ${file}` };
  } catch (err) {
    if (err instanceof ConfigError) throw usageError(`--config: ${err.message}`);
    throw err;
  }
}

export type Listable = 'users' | 'roles' | 'teams' | 'rolebindings' | 'namespaces';
const ALL: readonly Listable[] = ['users', 'roles', 'teams', 'rolebindings', 'namespaces'];

/**
 * Where a question's world comes from. `load` returns the objects of the kinds in `only` (the
 * others empty) and what could not be read; it throws only when no answer would mean anything
 * (missing CRDs, an unreachable server, an unreadable file).
 */
export interface WorldSource {
  load(only?: readonly Listable[]): Promise<{ world: Required<World>; unreadable: Unreadable[] }>;
}

/**
 * The live source: lists what the caller may of the four kinds and namespaces through the
 * caller's own client. A refusal only narrows the answer and is reported in `unreadable`.
 */
export function liveWorld(client: GatehouseClient): WorldSource {
  return {
    async load(only = ALL) {
      const unreadable: Unreadable[] = [];
      const guard = async <T>(what: Listable, call: () => Promise<T[]>): Promise<T[]> => {
        if (!only.includes(what)) return [];
        try {
          return await call();
        } catch (err) {
          if (err instanceof ClientError && err.details['status'] === 403) {
            unreadable.push({ what, why: err.message.replace(/^forbidden: /, '') });
            return [];
          }
          throw err;
        }
      };
      const [users, roles, teams, bindings, namespaces] = await Promise.all([
        guard('users', () => client.list('User')),
        guard('roles', () => client.list('Role')),
        guard('teams', () => client.list('Team')),
        guard('rolebindings', () => client.list('RoleBinding')),
        guard<Namespace>('namespaces', () => client.listNamespaces()),
      ]);
      return { world: { users, roles, teams, bindings, namespaces }, unreadable };
    },
  };
}

/** One manifest: a file's name (for messages) and its text (YAML, several documents allowed). */
export interface Manifest {
  name: string;
  text: string;
}

/**
 * The file source: the Users, Roles, Teams, RoleBindings and Namespaces in `manifests` (a `kind:
 * List` is opened; other kinds are skipped, as a cluster would hold them elsewhere). Nothing is
 * unreadable. A document that is not YAML, or an object of these kinds without a name, is a usage
 * error naming the file, never a partial world.
 */
export function filesWorld(manifests: readonly Manifest[]): WorldSource {
  return {
    async load(only = ALL) {
      const users: User[] = [];
      const roles: Role[] = [];
      const teams: Team[] = [];
      const bindings: RoleBinding[] = [];
      const namespaces: Namespace[] = [];
      const take = (o: unknown, file: string): void => {
        if (!o || typeof o !== 'object') return;
        const obj = o as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown }; items?: unknown };
        if (obj.kind === 'List' && Array.isArray(obj.items)) {
          for (const item of obj.items) take(item, file);
          return;
        }
        const ours = obj.apiVersion === API_VERSION ? obj.kind : obj.apiVersion === 'v1' && obj.kind === 'Namespace' ? 'Namespace' : undefined;
        const field = ({ User: 'users', Role: 'roles', Team: 'teams', RoleBinding: 'rolebindings', Namespace: 'namespaces' } as const)[ours as 'User'];
        if (field === undefined) return;
        if (typeof obj.metadata?.name !== 'string' || obj.metadata.name === '') throw usageError(`${file}: a ${String(ours)} without metadata.name`);
        if (!only.includes(field)) return;
        if (field === 'users') users.push(o as User);
        else if (field === 'roles') roles.push(o as Role);
        else if (field === 'teams') teams.push(o as Team);
        else if (field === 'rolebindings') bindings.push(o as RoleBinding);
        else namespaces.push(o as Namespace);
      };
      for (const m of manifests) {
        let docs: unknown[];
        try {
          docs = yaml.loadAll(m.text);
        } catch (err) {
          throw usageError(`${m.name}: not YAML: ${(err as Error).message.split('\n')[0]}`);
        }
        for (const d of docs) take(d, m.name);
      }
      return { world: { users, roles, teams, bindings, namespaces }, unreadable: [] };
    },
  };
}

/** The live world through `client` (`only` narrows it). */
export function listWorld(client: GatehouseClient, only: readonly Listable[] = ALL): Promise<{ world: Required<World>; unreadable: Unreadable[] }> {
  return liveWorld(client).load(only);
}

function snapshotOf(world: Required<World>, unreadable: Unreadable[], config: PolicyConfig, configSource: string, now: () => number): Snapshot {
  const index = PermissionIndex.build(world, config, now);
  const { users, roles, teams, bindings, namespaces } = world;
  return {
    index,
    counts: { users: users.length, roles: roles.length, teams: teams.length, rolebindings: bindings.length, namespaces: namespaces.length },
    unreadable,
    config: configSource,
    world,
  };
}

/** The whole world from `source` (a client: the live one) and the index built over it. */
export async function collect(source: GatehouseClient | WorldSource, config: PolicyConfig, configSource: string, now: () => number): Promise<Snapshot> {
  const { world, unreadable } = await ('load' in source ? source : liveWorld(source)).load();
  return snapshotOf(world, unreadable, config, configSource, now);
}

/**
 * A person who may not list Users may still read their own (the `me` permission): asking about
 * oneself then still starts from one's own User, state and all, instead of "unknown user".
 */
export async function withOwnUser(client: GatehouseClient, snap: Snapshot, user: string, config: PolicyConfig, now: () => number): Promise<Snapshot> {
  if (!snap.unreadable.some((u) => u.what === 'users')) return snap;
  let own;
  try {
    own = await client.get('User', user);
  } catch (err) {
    if (err instanceof ClientError) return snap;
    throw err;
  }
  const world = { ...snap.world, users: [own] };
  return { ...snap, world, index: PermissionIndex.build(world, config, now), counts: { ...snap.counts, users: 1 } };
}

export function sourceLine(s: Snapshot): string {
  const c = s.counts;
  // Issue 30: the cluster the objects were held as (its spec.clusters rule), when one is named.
  const cluster = s.index.config.cluster?.name ? `; as cluster ${describeCluster(s.index.config.cluster)}` : '';
  if (s.files !== undefined) return `decided from files, no cluster contacted (${s.files}: ${c.users} users, ${c.roles} roles, ${c.teams} teams, ${c.rolebindings} role assignments, ${c.namespaces} namespaces; ${s.config}${cluster})`;
  return `decided locally from the objects you can list (${c.users} users, ${c.roles} roles, ${c.teams} teams, ${c.rolebindings} role assignments, ${c.namespaces} namespaces; ${s.config}${cluster}); the operator was not asked`;
}

export function warnings(s: Snapshot): string[] {
  return s.unreadable.map((u) => `warning: you may not list ${u.what} (${u.why}); the answer leaves them out and may be wrong`);
}


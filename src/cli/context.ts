// What every command handler receives: its arguments, the output, the clock, and a lazily made
// client (so `--help` and usage errors never touch the kubeconfig).
import type { GatehouseKind } from '../api/types.js';
import type { OptionValues } from './args.js';
import { CliError, EXIT, usageError } from './errors.js';
import type { OutputFormat } from './format.js';
import { forDisplay, nearestNames, render } from './format.js';
import type { GatehouseClient, ObjectOf } from './kube.js';
import type { PostToken } from './login.js';
import { usernameOf } from '../authz/rules.js';

export interface Context {
  args: string[];
  values: OptionValues;
  format: OutputFormat;
  client(): GatehouseClient;
  out(text: string): void;
  err(text: string): void;
  now(): number;
  readFile(file: string): string;
  /** Writes a file only its owner may read (kubeconfigs with tokens). */
  writeFile(file: string, text: string): void;
  /** The kubeconfig file to edit when --kubeconfig is not given ($KUBECONFIG's first, ~/.kube/config). */
  defaultKubeconfig(): string;
  /** POSTs a Gatehouse token to the proxy (activate, rotate). */
  postToken: PostToken;
  sleep(ms: number): Promise<void>;
}

export function str(ctx: Context, name: string): string | undefined {
  const v = ctx.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function strs(ctx: Context, name: string): string[] {
  const v = ctx.values[name];
  if (Array.isArray(v)) return v;
  return typeof v === 'string' ? [v] : [];
}

export function flag(ctx: Context, name: string): boolean {
  return ctx.values[name] === true;
}

export function arg(ctx: Context, index: number): string {
  const v = ctx.args[index];
  if (v === undefined) throw usageError('missing argument');
  return v;
}

/** Prints an object (or a list) in the -o format; returns false when the format is a table. */
export function printStructured(ctx: Context, value: unknown): boolean {
  if (ctx.format === 'table') return false;
  ctx.out(render(value, ctx.format));
  return true;
}

/** `kind: List` the way kubectl prints several objects. */
export function asList(items: unknown[]): { apiVersion: string; kind: string; items: unknown[] } {
  return { apiVersion: 'v1', kind: 'List', items };
}

const NOUN: Record<GatehouseKind, string> = { User: 'user', Role: 'role', Team: 'team', RoleBinding: 'role assignment' };
const LIST_CMD: Record<GatehouseKind, string> = { User: 'user list', Role: 'role list', Team: 'team list', RoleBinding: 'role assignment list' };

/**
 * Gets an object by name. A User may also be named by its username (alice@example.com). When it is
 * not there, the error lists the nearest names the caller can see.
 */
export async function findObject<K extends GatehouseKind>(ctx: Context, kind: K, name: string): Promise<ObjectOf<K>> {
  const client = ctx.client();
  try {
    return await client.get(kind, name);
  } catch (err) {
    if (!(err instanceof CliError) || err.details['notFound'] !== true) throw err;
  }
  let all: Array<ObjectOf<K>> = [];
  try {
    all = await client.list(kind);
  } catch {
    /* the caller may not list them; the plain not-found message must do */
  }
  if (kind === 'User') {
    const byUsername = all.find((u) => usernameOf(u as ObjectOf<'User'>) === name);
    if (byUsername) return byUsername;
  }
  const candidates = all.flatMap((o) => (kind === 'User' ? [o.metadata.name, usernameOf(o as ObjectOf<'User'>)] : [o.metadata.name]));
  const near = nearestNames(name, candidates);
  const hint = near.length ? `; did you mean ${near.join(', ')}?` : all.length ? '' : '';
  throw new CliError(`${NOUN[kind]} ${JSON.stringify(name)} not found${hint} (\`kubectl gatehouse ${LIST_CMD[kind]}\` shows them all)`, EXIT.api, { notFound: true, nearest: near });
}

/** Lists a kind, or returns undefined (and why) when the caller may not; for best-effort columns. */
export async function tryList<K extends GatehouseKind>(ctx: Context, kind: K): Promise<Array<ObjectOf<K>> | undefined> {
  try {
    return await ctx.client().list(kind);
  } catch {
    return undefined;
  }
}

/**
 * What every list command does first: sort by name, print the whole list in the -o format, or say
 * `No <what> found.` when it is empty. Returns the objects left for the table (undefined: done).
 */
export function forTable<T extends { metadata: { name: string } }>(ctx: Context, objects: T[], what: string): T[] | undefined {
  const sorted = objects.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  if (printStructured(ctx, asList(sorted.map(forDisplay)))) return undefined;
  if (sorted.length === 0) {
    ctx.err(`No ${what} found.\n`);
    return undefined;
  }
  return sorted;
}

/** Deletes an object found by name and says so (`<noun> NAME deleted`, then `detail`). */
export async function removeObject<K extends GatehouseKind>(ctx: Context, kind: K, name: string, detail: (o: ObjectOf<K>) => string = () => ''): Promise<ObjectOf<K>> {
  const o = await findObject(ctx, kind, name);
  await ctx.client().delete(kind, o.metadata.name);
  ctx.out(`${NOUN[kind]} ${o.metadata.name} deleted${detail(o)}\n`);
  return o;
}

/** The spec fields to merge into the current object; undefined: nothing to change. */
export type SpecChange<K extends GatehouseKind> = (current: ObjectOf<K>) => Record<string, unknown> | undefined;
/** The object before an update, and after it (undefined: nothing changed). */
export interface Update<K extends GatehouseKind> {
  before: ObjectOf<K>;
  after: ObjectOf<K> | undefined;
}

/**
 * updateWithRetry, then the result in the -o format, or the line `say` writes (`after` undefined:
 * nothing changed). Returns the update for what a command adds.
 */
export async function updateAndSay<K extends GatehouseKind>(ctx: Context, kind: K, name: string, change: SpecChange<K>, say: (before: ObjectOf<K>, after: ObjectOf<K> | undefined) => string): Promise<Update<K>> {
  const result = await updateWithRetry(ctx, kind, name, change);
  if (!printStructured(ctx, forDisplay(result.after ?? result.before))) ctx.out(say(result.before, result.after));
  return result;
}

/** A merge patch guarded by resourceVersion, re-read and retried when someone else wrote meanwhile. */
export async function updateWithRetry<K extends GatehouseKind>(ctx: Context, kind: K, name: string, change: SpecChange<K>): Promise<Update<K>> {
  for (let attempt = 0; ; attempt++) {
    const current = await findObject(ctx, kind, name);
    const spec = change(current);
    if (!spec) return { before: current, after: undefined };
    try {
      const after = await ctx.client().mergePatch(kind, current.metadata.name, {
        metadata: { resourceVersion: current.metadata.resourceVersion },
        spec,
      });
      return { before: current, after };
    } catch (err) {
      if (attempt < 3 && err instanceof CliError && err.details['conflict'] === true) continue;
      throw err;
    }
  }
}

// What every command handler receives: its arguments, the output, the clock, and a lazily made
// client (so `--help` and usage errors never touch the kubeconfig).
import type { GatehouseKind } from '../api/types.js';
import type { OptionValues } from './args.js';
import { usageError } from '../client/errors.js';
import { findObject, NOUN, updateWithRetry, type SpecChange, type Update } from '../client/edits.js';
import type { OutputFormat } from './format.js';
import { forDisplay, render } from './format.js';
import type { GatehouseClient, KubeContextInfo, ObjectOf } from '../client/kube.js';
import type { PostToken } from './login.js';

export interface Context {
  args: string[];
  values: OptionValues;
  format: OutputFormat;
  client(): GatehouseClient;
  out(text: string): void;
  err(text: string): void;
  now(): number;
  /** `-` is stdin (main.ts). */
  readFile(file: string): string;
  /** A folder's entries, or undefined when `dir` is not a folder (`--from DIR`, issue 25). */
  listDir?(dir: string): string[] | undefined;
  /** Writes a file only its owner may read (kubeconfigs with tokens). */
  writeFile(file: string, text: string): void;
  /** The kubeconfig file to edit when --kubeconfig is not given ($KUBECONFIG's first, ~/.kube/config). */
  defaultKubeconfig(): string;
  /** POSTs a Gatehouse token to the proxy (activate, rotate). */
  postToken: PostToken;
  sleep(ms: number): Promise<void>;
  /** The kubeconfig's contexts (`--contexts`, `--all-contexts`; issue 30). */
  kubeContexts?(): KubeContextInfo[];
  /** A client for one kubeconfig context, with the same kubeconfig and impersonation as client(). */
  clientFor?(context: string): GatehouseClient;
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
  const o = await findObject(ctx.client(), kind, name);
  await ctx.client().delete(kind, o.metadata.name);
  ctx.out(`${NOUN[kind]} ${o.metadata.name} deleted${detail(o)}\n`);
  return o;
}

/**
 * updateWithRetry, then the result in the -o format, or the line `say` writes (`after` undefined:
 * nothing changed). Returns the update for what a command adds.
 */
export async function updateAndSay<K extends GatehouseKind>(ctx: Context, kind: K, name: string, change: SpecChange<K>, say: (before: ObjectOf<K>, after: ObjectOf<K> | undefined) => string): Promise<Update<K>> {
  const result = await updateWithRetry(ctx.client(), kind, name, change);
  if (!printStructured(ctx, forDisplay(result.after ?? result.before))) ctx.out(say(result.before, result.after));
  return result;
}


// What every command handler receives: its arguments, the output, the clock, and a lazily made
// client (so `--help` and usage errors never touch the kubeconfig).
import type { GatehouseKind } from '../api/types.js';
import type { OptionValues } from './args.js';
import { CliError, EXIT, usageError } from './errors.js';
import type { OutputFormat } from './format.js';
import { nearestNames, render } from './format.js';
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

/** A merge patch guarded by resourceVersion, re-read and retried when someone else wrote meanwhile. */
export async function updateWithRetry<K extends GatehouseKind>(
  ctx: Context,
  kind: K,
  name: string,
  change: (current: ObjectOf<K>) => Record<string, unknown> | undefined,
): Promise<{ before: ObjectOf<K>; after: ObjectOf<K> | undefined }> {
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

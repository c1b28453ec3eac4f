// Helpers for the end-to-end authorization tests: what a person sees from `kubectl auth can-i`
// and from a SubjectAccessReview the API server answers (which carries the reason for a yes too).
import type { Stack } from './stack.js';

export interface CanIOptions {
  as?: string;
  asGroups?: string[];
  namespace?: string;
  subresource?: string;
  /** `-A`: ask without a namespace (cluster-scoped, or across all namespaces). */
  allNamespaces?: boolean;
}

/** `kubectl auth can-i VERB RESOURCE`'s stdout, trimmed: `yes`, or `no` with ` - <reason>` when one was given. */
export async function canI(stack: Stack, verb: string, resource: string, opts: CanIOptions = {}): Promise<string> {
  const args = ['auth', 'can-i', verb, resource];
  if (opts.namespace) args.push('-n', opts.namespace);
  if (opts.allNamespaces) args.push('-A');
  if (opts.subresource) args.push(`--subresource=${opts.subresource}`);
  const kubectlOpts = { ...(opts.as ? { as: opts.as } : {}), ...(opts.asGroups ? { asGroups: opts.asGroups } : {}) };
  const res = await stack.kubectl(args, kubectlOpts);
  const out = res.stdout.trim();
  // 0 is yes, 1 is no; anything else (or no answer at all) is a broken call, not a "no".
  if (!((res.code === 0 && out === 'yes') || (res.code === 1 && /^no\b/.test(out)))) {
    throw new Error(`kubectl ${args.join(' ')} (as ${opts.as ?? 'admin'}) answered ${res.code}: ${out} ${res.stderr}`);
  }
  return out;
}

export interface ReviewStatus {
  allowed: boolean;
  denied?: boolean;
  reason?: string;
}

/**
 * The API server's answer to a SubjectAccessReview for `user`: the whole authorizer chain
 * (Gatehouse's webhook, then RBAC) decides, and `reason` is there for an allow as well.
 */
export async function review(
  stack: Stack,
  user: string,
  attrs: { verb: string; resource: string; group?: string; namespace?: string; name?: string; subresource?: string },
  groups: string[] = ['system:authenticated'],
): Promise<ReviewStatus> {
  const sar = {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: { user, groups, resourceAttributes: { group: '', ...attrs } },
  };
  const out = await stack.kubectlOk(['create', '-f', '-', '-o', 'json'], { input: JSON.stringify(sar) });
  return (JSON.parse(out) as { status: ReviewStatus }).status;
}

/** Runs `fn` over `items` with at most `limit` calls in flight; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Prometheus text lines of one series, as {labels, value}. */
export function series(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^[^{ ]+(?:\{([^}]*)\})?\s+(\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const pair of (m[1] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    out.push({ labels, value: Number(m[2]) });
  }
  return out;
}

export async function metricsText(stack: Stack): Promise<string> {
  const res = await stack.operator.webhook.server.inject({ method: 'GET', url: '/metrics' });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return res.body;
}

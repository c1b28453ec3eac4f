// Small helpers for the end-to-end admission tests: kubectl as a person, and assertions on what
// that person reads (the denial text naming the rule, kubectl's `Warning:` lines).
import assert from 'node:assert/strict';
import https from 'node:https';
import { readFile } from 'node:fs/promises';
import type { KubectlOptions, KubectlResult } from '../../src/controlplane/controlplane.js';
import type { Stack } from './stack.js';
import { eventually } from './operator.js';
import { API_VERSION, type UserSpec } from '../../src/api/types.js';

/** A manifest applied with `kubectl apply -f -` as `as` (the admin when absent). */
export function apply(stack: Stack, manifest: string, opts: Omit<KubectlOptions, 'input'> & { extra?: string[] } = {}): Promise<KubectlResult> {
  const { extra = [], ...rest } = opts;
  return stack.kubectl(['apply', '-f', '-', ...extra], { ...rest, input: manifest });
}

/** `kubectl create -f -`: needs no read of the object first, unlike apply. */
export function create(stack: Stack, manifest: string, opts: Omit<KubectlOptions, 'input'> & { extra?: string[] } = {}): Promise<KubectlResult> {
  const { extra = [], ...rest } = opts;
  return stack.kubectl(['create', '-f', '-', ...extra], { ...rest, input: manifest });
}

/** A merge patch of `resource` (e.g. `ghuser/alice`) as someone. */
export function mergePatch(stack: Stack, resource: string, patch: unknown, opts: KubectlOptions & { extra?: string[] } = {}): Promise<KubectlResult> {
  const { extra = [], ...rest } = opts;
  return stack.kubectl(['patch', resource, '--type=merge', '-p', JSON.stringify(patch), ...extra], rest);
}

function show(res: KubectlResult): string {
  return `exit ${res.code}\nstdout: ${res.stdout}\nstderr: ${res.stderr}`;
}

export function assertOk(res: KubectlResult, what: string): void {
  assert.equal(res.code, 0, `${what} should succeed\n${show(res)}`);
}

/**
 * The request was refused by Gatehouse's admission webhook, and kubectl shows the person which
 * field and which rule: `... denied the request: Gatehouse denied: <path>: <message> (rule: <rule>)`.
 */
export function assertDenied(res: KubectlResult, rule: string, path?: string | RegExp): void {
  assert.notEqual(res.code, 0, `expected a denial (rule ${rule})\n${show(res)}`);
  assert.match(res.stderr, /admission webhook "[a-z.]+" denied the request: Gatehouse denied: /, show(res));
  assert.match(res.stderr, new RegExp(`\\(rule: ${rule}\\)`), show(res));
  if (path !== undefined) {
    const p = typeof path === 'string' ? new RegExp(`Gatehouse denied: (.*; )?${escape(path)}: `) : path;
    assert.match(res.stderr, p, show(res));
  }
}

/** Refused by authorization (Gatehouse no opinion, RBAC no): never reaches admission. */
export function assertForbidden(res: KubectlResult): void {
  assert.notEqual(res.code, 0, show(res));
  assert.match(res.stderr, /is forbidden: User "[^"]+" cannot /, show(res));
  assert.doesNotMatch(res.stderr, /Gatehouse denied/, show(res));
}

export function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The object as JSON (admin read). */
export async function getJson<T = { metadata: Record<string, unknown>; spec: Record<string, unknown>; status?: Record<string, unknown> }>(stack: Stack, resource: string, namespace?: string): Promise<T> {
  return JSON.parse(await stack.kubectlOk(['get', resource, '-o', 'json', ...(namespace ? ['-n', namespace] : [])])) as T;
}

export async function exists(stack: Stack, resource: string): Promise<boolean> {
  const res = await stack.kubectl(['get', resource, '-o', 'name']);
  if (res.code === 0) return true;
  if (/NotFound/.test(res.stderr)) return false;
  throw new Error(`kubectl get ${resource}: ${res.stderr}`);
}

/** Polls `kubectl auth can-i` as `as` until it answers `want`. */
export async function canIBecomes(stack: Stack, args: string[], as: string, want: 'yes' | 'no', asGroups?: string[]): Promise<string> {
  return eventually(`can-i ${args.join(' ')} as ${as} to be ${want}`, async () => {
    const r = await stack.kubectl(['auth', 'can-i', ...args], { as, ...(asGroups ? { asGroups } : {}) });
    return r.stdout.trim().split(/\s/)[0] === want ? r.stdout.trim() : undefined;
  });
}

/** Waits until the operator's index has the User `name` in `state`. */
export async function userIs(stack: Stack, username: string, state: string): Promise<void> {
  await eventually(`User ${username} to be ${state} in the index`, () => stack.operator.index.userRecord(username)?.state === state);
}

/** User manifests from a compact table, `{alice: {state: 'Active'}, sue: {state: 'Active', superuser: true}}`. */
export function usersYaml(users: Record<string, UserSpec>): string {
  return Object.entries(users)
    .map(([name, spec]) => `apiVersion: ${API_VERSION}\nkind: User\nmetadata: {name: ${name}}\nspec: ${JSON.stringify(spec)}\n`)
    .join('---\n');
}

/**
 * A JSON merge patch sent straight to the API server as `as` (the admin's token impersonating
 * them), without kubectl's read first: what an attacker with only write access sends.
 */
export async function rawMergePatch(stack: Stack, apiPath: string, patch: unknown, as: string): Promise<{ status: number; body: string }> {
  const ca = await readFile(stack.cp.caFile);
  const url = new URL(apiPath, stack.cp.url);
  return new Promise((resolve, reject) => {
    const req = https.request(url, {
      method: 'PATCH',
      ca,
      headers: {
        authorization: `Bearer ${stack.cp.adminToken}`,
        'impersonate-user': as,
        'impersonate-group': 'system:authenticated',
        'content-type': 'application/merge-patch+json',
      },
    }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(patch));
  });
}

/** A raw request refused by Gatehouse's admission webhook with `rule` (and the field path). */
export function assertRawDenied(res: { status: number; body: string }, rule: string, path?: string): void {
  assert.equal(res.status, 403, res.body);
  assert.match(res.body, /denied the request: Gatehouse denied: /, res.body);
  assert.match(res.body, new RegExp(`\\(rule: ${rule}\\)`), res.body);
  if (path !== undefined) assert.match(res.body, new RegExp(`Gatehouse denied: (.*; )?${escape(path)}: `), res.body);
}

/**
 * A Node whose kubelet is `kubeletPort` on loopback (a test's fake kubelet) and a Pod `sleeper` on
 * it in `namespace`, for exec/attach through the API server. Waits first for the namespace's
 * default service account, which kube-controller-manager makes, as on a real cluster.
 */
export async function podOnFakeKubelet(stack: Stack, namespace: string, kubeletPort: number): Promise<void> {
  await eventually('the default service account', async () => (await stack.kubectl(['get', 'serviceaccount', 'default', '-n', namespace])).code === 0, 60_000, 250);
  assertOk(await apply(stack, `
apiVersion: v1
kind: Node
metadata: {name: fake-node}
status:
  addresses: [{type: InternalIP, address: 127.0.0.1}]
  daemonEndpoints: {kubeletEndpoint: {Port: ${kubeletPort}}}
---
apiVersion: v1
kind: Pod
metadata: {name: sleeper, namespace: ${namespace}}
spec:
  nodeName: fake-node
  automountServiceAccountToken: false
  containers: [{name: c, image: busybox}]
`), 'a node and a pod on it');
}

// Issue 25's contract, end to end: answers from policy files (`--from`) equal the live operator's
// (webhook mode, through the real kube-apiserver's SubjectAccessReviews) on random worlds, and
// `lint` refuses exactly what the admission webhook refuses, with the same rule ids, on a corpus
// of generated bad objects sent to the real API server (server-side dry run: admission runs,
// nothing is stored).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startStack, type Stack } from '../support/stack.js';
import { mapLimit } from '../support/authz-e2e.js';
import { runCli } from '../support/cli.js';
import { runFiles } from '../support/policy-files.js';
import { generateWorld, type Generated } from '../../bench/world.js';
import { API_VERSION } from '../../src/api/types.js';
import type { AccessRequest } from '../../src/authz/types.js';

const CONFIG = {
  seedAdmins: [{ username: 'root' }],
  defaults: { role: 'role-1', team: 'team-0' },
  projects: { ownerRole: 'role-2', publicRole: 'role-3' },
  registration: { mode: 'approval' },
};
const VALUES = `seedAdmins: [{username: root}]\ndefaults: {role: role-1, team: team-0}\nprojects: {ownerRole: role-2, publicRole: role-3}\nregistration: {mode: approval}\n`;
const SIZE = { users: 40, teams: 8, roles: 16, bindings: 70, namespaces: 10 };
const APPLIER = { as: 'system:serviceaccount:argocd:argocd-application-controller', asGroups: ['system:serviceaccounts', 'system:serviceaccounts:argocd'] };

let stack: Stack;
let dir: string;

before(async () => {
  stack = await startStack({ config: CONFIG });
  dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-policy-e2e-'));
  // The GitOps controller's service account: RBAC lets it write Gatehouse's kinds (Gatehouse leaves it to RBAC).
  await stack.kubectlOk(['create', 'clusterrolebinding', 'argocd-gatehouse', '--clusterrole=cluster-admin', '--serviceaccount=argocd:argocd-application-controller']);
});

after(async () => {
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The generated world as policy files (the bench generator leaves out apiVersion). */
function worldYaml(w: Generated): string {
  const docs = [
    ...w.namespaces.map((o) => ({ apiVersion: 'v1', ...o })),
    ...[...w.users, ...w.roles, ...w.teams, ...w.bindings].map((o) => ({ apiVersion: API_VERSION, ...o })),
  ];
  return docs.map((d) => JSON.stringify(d)).join('\n---\n') + '\n';
}

interface Sar {
  allowed: boolean;
  denied?: boolean;
  reason?: string;
}

/** POSTs SubjectAccessReviews straight to the API server as the admin (kubectl per request is too slow for thousands). */
function sarClient(): (spec: Record<string, unknown>) => Promise<Sar> {
  const cp = stack.cp;
  let ca: string | undefined;
  const agent = new https.Agent({ keepAlive: true, maxSockets: 8 });
  return async (spec) => {
    ca ??= await readFile(cp.caFile, 'utf8');
    const body = JSON.stringify({ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec });
    const url = new URL('/apis/authorization.k8s.io/v1/subjectaccessreviews', cp.url);
    return new Promise<Sar>((resolve, reject) => {
      const req = https.request(url, { method: 'POST', agent, ca, headers: { authorization: `Bearer ${cp.adminToken}`, 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => {
          if (res.statusCode !== 201) return reject(new Error(`SAR ${res.statusCode}: ${text}`));
          resolve((JSON.parse(text) as { status: Sar }).status);
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  };
}

/** can-i's argv for a generated request (the core group written `.core`, cluster-wide as -A). */
function canIArgs(r: AccessRequest): string[] {
  const a = r.resource;
  if (!a) throw new Error('resource requests only');
  const args = ['can-i', a.verb, `${a.resource}.${a.group === '' ? 'core' : a.group}`, '--as', r.user, ...r.groups.filter((g) => g !== 'system:authenticated').flatMap((g) => ['--as-group', g])];
  if (a.subresource) args.push('--subresource', a.subresource);
  if (a.namespace && !(a.group === '' && ['nodes'].includes(a.resource))) args.push('-n', a.namespace);
  else args.push('-A');
  return args;
}

test('differential: can-i --from on random worlds equals the live operator (webhook mode, SubjectAccessReviews) on 2,000 requests', { timeout: 900_000 }, async () => {
  const sar = sarClient();
  let compared = 0;
  const mismatches: string[] = [];
  for (const seed of [11, 12]) {
    const w = generateWorld(SIZE, seed);
    const yaml = worldYaml(w);
    // Applied over the previous world: every name is the same, so the cluster then holds exactly this one.
    await stack.kubectlOk(['apply', '-f', '-'], { input: yaml });
    await stack.settle();
    const files = { 'world/policy.yaml': yaml, 'values.yaml': VALUES };
    const requests = w.requests(1000, seed * 3);
    const liveAnswers = new Map<AccessRequest, boolean>();
    await mapLimit(requests, 6, async (r) => {
      const offline = await runFiles([...canIArgs(r), '--from', 'world', '--values', 'values.yaml', '-o', 'json'], files, { now: Date.now() });
      assert.ok(offline.code === 0 || offline.code === 1, `${canIArgs(r).join(' ')}: ${offline.stderr}`);
      const answer = JSON.parse(offline.stdout) as { allowed: boolean; request: { user: string; groups: string[]; resource: Record<string, string> }; gatehouse: { reason: string } };
      const live = await sar({ user: answer.request.user, groups: [...answer.request.groups, 'system:authenticated'], resourceAttributes: answer.request.resource });
      compared++;
      liveAnswers.set(r, live.allowed);
      if (live.allowed !== answer.allowed) mismatches.push(`${canIArgs(r).join(' ')}: files ${answer.allowed} (${answer.gatehouse.reason}), live ${live.allowed} (${live.reason ?? ''})`);
    });
    // The comparison can fail: the same files without the chart's values (no defaults, no project
    // roles, no seed admin) answer differently from the live operator somewhere.
    if (seed === 11) {
      let differing = 0;
      await mapLimit(requests, 6, async (r) => {
        const res = await runFiles([...canIArgs(r), '--from', 'world', '-o', 'json'], files, { now: Date.now() });
        if ((JSON.parse(res.stdout) as { allowed: boolean }).allowed !== liveAnswers.get(r)) differing++;
      });
      assert.ok(differing > 0, 'without --values every answer still matched: the comparison would not notice a wrong configuration');
    }
    // The real binary, with a kubeconfig pointing nowhere: answers, so no cluster was needed.
    await writeFile(path.join(dir, `world-${seed}.yaml`), yaml);
    await writeFile(path.join(dir, 'values.yaml'), VALUES);
    const r = requests[0] as AccessRequest;
    const bin = await runCli([...canIArgs(r), '--from', path.join(dir, `world-${seed}.yaml`), '--values', path.join(dir, 'values.yaml'), '-o', 'json'], { kubeconfig: path.join(dir, 'no-such-kubeconfig') });
    assert.ok(bin.code === 0 || bin.code === 1, bin.stderr);
    assert.match(bin.stdout, /no cluster contacted/);
  }
  assert.ok(compared >= 2000, `compared ${compared}`);
  assert.deepEqual(mismatches, [], `${mismatches.length} of ${compared} answers differ`);
});

// ---- lint versus admission ----

/** The live cluster's objects besides the world: a delegated team lead (alice) and her namespace. */
const LINT_BASE = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'lint-a' } },
  { apiVersion: API_VERSION, kind: 'User', metadata: { name: 'alice' }, spec: { state: 'Active' } },
  { apiVersion: API_VERSION, kind: 'Role', metadata: { name: 'lead' }, spec: { permissions: ['iam.gatehouse.dev/rolebindings:*', 'iam.gatehouse.dev/teams:*', 'pods:read'] } },
  { apiVersion: API_VERSION, kind: 'Role', metadata: { name: 'pod-reader' }, spec: { permissions: ['pods:read'] } },
  { apiVersion: API_VERSION, kind: 'Role', metadata: { name: 'everything' }, spec: { permissions: ['*:*'] } },
  { apiVersion: API_VERSION, kind: 'RoleBinding', metadata: { name: 'alice-lead' }, spec: { role: 'lead', subjects: [{ kind: 'User', name: 'alice' }], scope: { namespaces: ['lint-a'] } } },
];

type Obj = Record<string, unknown>;
const role = (name: string, spec: Obj): Obj => ({ apiVersion: API_VERSION, kind: 'Role', metadata: { name }, spec });
const user = (name: string, spec: Obj): Obj => ({ apiVersion: API_VERSION, kind: 'User', metadata: { name }, spec });
const team = (name: string, spec: Obj, meta: Obj = {}): Obj => ({ apiVersion: API_VERSION, kind: 'Team', metadata: { name, ...meta }, spec });
const rb = (name: string, spec: Obj): Obj => ({ apiVersion: API_VERSION, kind: 'RoleBinding', metadata: { name }, spec });

interface Case {
  kind: string;
  object: Obj;
  /** Checked as alice makes it (escalation and delegation), else as the GitOps controller. */
  asAlice?: boolean;
}

/** At least 20 objects of each error kind (and some good ones), each different. */
function corpus(): Case[] {
  const out: Case[] = [];
  for (let i = 0; i < 20; i++) {
    out.push({ kind: 'permission-syntax', object: role(`bad-perm-${i}`, { permissions: [['pods:fly:now', 'pods:', ':get', 'a b:get', 'pods:get:x'][i % 5] + (i >= 5 ? `${i}` : '')] }) });
    out.push({ kind: 'schema', object: rb(`two-scopes-${i}`, { role: 'pod-reader', subjects: [{ kind: 'User', name: `user-${i}` }], scope: { cluster: true, namespaces: [`ns-${i % 10}`] } }) });
    out.push({ kind: 'duplicate-subject', object: rb(`dup-subject-${i}`, { role: 'pod-reader', subjects: [{ kind: 'User', name: `user-${i}` }, { kind: 'User', name: `user-${i}` }], scope: { namespaces: ['lint-a'] } }) });
    out.push({ kind: 'invalid-name', object: rb(`bad-ns-${i}`, { role: 'pod-reader', subjects: [{ kind: 'User', name: 'alice' }], scope: { namespaces: [`Bad_NS_${i}`] } }) });
    out.push({ kind: 'username-unique', object: user(`taker-${i}`, { username: `user-${2 * i + 1}`, state: 'Pending' }) });
    out.push({ kind: 'username-form', object: user(`form-${i}`, { username: [`system:x${i}`, `system:serviceaccount:a:b${i}`][i % 2], state: 'Pending' }) });
    out.push({ kind: 'schema', object: user(`schema-${i}`, { username: [` padded${i}`, `tab\t${i}`, `a b${i}`, `x${i}`][i % 4], state: ['Pending', 'Pending', 'Pending', 'Sleeping'][i % 4] }) });
    out.push({ kind: 'schema', object: rb(`Bad.Name_${i}`, { role: 'pod-reader', subjects: [{ kind: 'User', name: 'alice' }], scope: { namespaces: ['lint-a'] } }) });
    out.push({ kind: 'schema', object: rb(`late-${i}`, { role: 'pod-reader', subjects: [{ kind: 'User', name: 'alice' }], scope: { namespaces: ['lint-a'] }, expiresAt: `tomorrow-${i}` }) });
    out.push({ kind: 'role-include-cycle', object: role(`self-${i}`, { permissions: ['pods:read'], includes: [`self-${i}`] }) });
    out.push({ kind: 'seed-protected', object: user(`seed-copy-${i}`, { username: 'root', state: 'Active', superuser: i % 2 === 0 }) });
    out.push({ kind: 'team-tree', object: team(`own-parent-${i}`, { parent: `own-parent-${i}` }) });
    out.push({ kind: 'no-escalation', asAlice: true, object: rb(`alice-esc-${i}`, { role: 'everything', subjects: [{ kind: 'User', name: `user-${i}` }], scope: { namespaces: ['lint-a'] } }) });
    out.push({ kind: 'delegated-scope', asAlice: true, object: rb(`alice-out-${i}`, { role: 'pod-reader', subjects: [{ kind: 'User', name: `user-${i}` }], scope: { namespaces: [`elsewhere-${i}`] } }) });
    out.push({ kind: 'metadata-protected', asAlice: true, object: team(`alice-fin-${i}`, { namespaces: ['lint-a'] }, { finalizers: [`example.com/keep-${i}`] }) });
    out.push({ kind: 'superuser-only', asAlice: true, object: user(`alice-su-${i}`, { state: 'Pending', superuser: true }) });
    out.push({ kind: 'good', object: role(`fine-${i}`, { permissions: ['pods:read', `example.com/things${i}:get`] }) });
    out.push({ kind: 'good', asAlice: true, object: rb(`alice-ok-${i}`, { role: 'pod-reader', subjects: [{ kind: 'User', name: `user-${i}` }], scope: { namespaces: ['lint-a'] } }) });
  }
  return out;
}

/** Rule ids in the API server's denial (`... (rule: x); ... (rule: y)`), sorted and unique. */
function rulesOf(text: string): string[] {
  return [...new Set([...text.matchAll(/\(rule: ([a-z-]+)\)/g)].map((m) => m[1] as string))].sort();
}

test('lint refuses exactly what admission refuses, with the same rule ids, on a generated corpus', { timeout: 900_000 }, async () => {
  await stack.kubectlOk(['apply', '-f', '-'], { input: LINT_BASE.map((o) => JSON.stringify(o)).join('\n---\n') });
  await stack.settle();
  // The cluster holds the last world and LINT_BASE: lint gets the same as files.
  const world = worldYaml(generateWorld(SIZE, 12));
  const base = { 'base/world.yaml': world, 'base/lint.yaml': LINT_BASE.map((o) => JSON.stringify(o)).join('\n---\n'), 'values.yaml': VALUES };
  const cases = corpus();
  assert.ok(cases.filter((c) => c.kind !== 'good').length >= 200);
  const differ: string[] = [];
  const seen = new Map<string, number>();
  await mapLimit(cases, 4, async (c) => {
    const files = { ...base, 'head/world.yaml': base['base/world.yaml'], 'head/lint.yaml': base['base/lint.yaml'], 'head/change.yaml': JSON.stringify(c.object) };
    const args = ['lint', 'head', '--values', 'values.yaml', '-o', 'json', ...(c.asAlice ? ['--as', 'alice', '--base', 'base'] : [])];
    const res = await runFiles(args, files, { now: Date.now() });
    const out = JSON.parse(res.stdout) as { messages: Array<{ severity: string; file: string; rule?: string }> };
    const lintRules = [...new Set(out.messages.filter((m) => m.severity === 'error' && m.file === 'head/change.yaml').map((m) => m.rule as string))].sort();
    const live = await stack.kubectl(['create', '--dry-run=server', '-f', '-'], { input: JSON.stringify(c.object), ...(c.asAlice ? { as: 'alice' } : APPLIER) });
    // The API server's own schema check runs before the webhook: its refusal names no Gatehouse rule.
    const liveRules = live.code === 0 ? [] : /\bis invalid\b/.test(live.stderr) && rulesOf(live.stderr).length === 0 ? ['schema'] : rulesOf(live.stderr);
    if (live.code !== 0 && liveRules.length === 0) differ.push(`${c.kind} ${JSON.stringify(c.object)}: the API server refused without a Gatehouse rule: ${live.stderr.trim()}`);
    if (JSON.stringify(lintRules) !== JSON.stringify(liveRules)) differ.push(`${c.kind} ${JSON.stringify(c.object)}: lint ${lintRules.join(',') || 'accepts'}, admission ${liveRules.join(',') || 'accepts'}`);
    if (c.kind !== 'good' && !liveRules.includes(c.kind)) differ.push(`${c.kind}: the corpus object did not hit its rule live (${liveRules.join(',') || 'accepted'})`);
    for (const r of liveRules) seen.set(r, (seen.get(r) ?? 0) + 1);
  });
  assert.deepEqual(differ, []);
  for (const kind of new Set(cases.map((c) => c.kind))) if (kind !== 'good') assert.ok((seen.get(kind) ?? 0) >= 20, `${kind}: ${seen.get(kind) ?? 0}`);
});

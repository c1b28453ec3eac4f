// What the two faces say, on the samples, written to a folder: every CLI command's stdout, stderr
// and exit code (as several people), and every console API route's status and body (the local
// mode, through `kubectl-gatehouse console`, and the operator mode, with bearer tokens). Run it on
// two builds and `diff -r` the folders: a refactor that changes no behaviour leaves them identical
// (issue 21). What differs from run to run by nature (ages, timestamps of this run, uids,
// resourceVersions, ports, one-time tokens, the policy file's path) is replaced by a placeholder
// before writing, and what comes in the order parallel list calls happen to fail (the console's
// `unreadable` entries, the CLI's `you may not list` warnings) is sorted.
//
//   npm run --silent build && node dist/scripts/faces-snapshot.js OUT_DIR
//
// It starts its own control plane and operator (test/support/stack.ts), like an integration test,
// and stops them at the end. The CLI and the console are this build's (dist/src/cli/main.js).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { runCommand } from '../src/controlplane/controlplane.js';
import { startStack, type Stack } from '../test/support/stack.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.resolve(here, '../src/cli/main.js');
const SAMPLES = path.resolve(here, '../../samples');

const POLICY = {
  seedAdmins: [{ username: 'root' }],
  defaults: { role: 'viewer', team: 'everyone' },
  projects: { ownerRole: 'project-owner', publicRole: 'viewer' },
};
const TOKENS: Record<string, { token: string; groups: string[] }> = {
  grace: { token: 'grace-snapshot-token', groups: [] },
  frank: { token: 'frank-snapshot-token', groups: ['oidc:vision'] },
  alice: { token: 'alice-snapshot-token', groups: ['oidc:vision'] },
};

/** Placeholders for what changes from run to run by nature. */
function normalize(text: string, now: number, policyFile: string): string {
  return text
    .split(policyFile)
    .join('POLICY')
    .replace(/\b(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z)/g, (t) => (Math.abs(Date.parse(t) - now) < 3 * 86_400_000 ? '<time>' : t))
    .replace(/("?(?:uid|resourceVersion)"?:\s*)["']?[0-9a-f-]+["']?/g, '$1<id>')
    .replace(/("?generation"?:\s*)\d+/g, '$1<n>')
    .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:<port>')
    .replace(/token=[A-Za-z0-9_-]+/g, 'token=<token>')
    // AGE: the last column of a table row, and `Age:` lines.
    .replace(/(\s)\d+[smhdy]$/gm, '$1<age>')
    .replace(/^(Age:\s+)\S+$/gm, '$1<age>')
    .replace(/("age":\s*)"[^"]*"/g, '$1"<age>"');
}

/** Each run of consecutive lines that `inRun` picks, sorted. */
function sortRuns(text: string, inRun: (line: string) => boolean): string {
  const out: string[] = [];
  let run: string[] = [];
  for (const line of text.split('\n')) {
    if (inRun(line)) {
      run.push(line);
      continue;
    }
    out.push(...run.sort(), line);
    run = [];
  }
  return [...out, ...run.sort()].join('\n');
}

interface Run {
  args: string[];
  as?: string;
  input?: string;
}

// Reads first (every command, every format), then changes, then the reads again.
const READS: Run[] = [
  { args: ['--help'] },
  { args: ['user', '--help'] },
  { args: ['role', 'assign', '--help'] },
  { args: ['user', 'list'] },
  { args: ['user', 'list', '-o', 'yaml'] },
  { args: ['user', 'list', '--state', 'pending'] },
  { args: ['user', 'list', '--state', 'nonsense'] },
  { args: ['user', 'show', 'alice'] },
  { args: ['user', 'show', 'alice', '-o', 'json'] },
  { args: ['user', 'show', 'alicee'] },
  { args: ['user', 'show', 'frank'], as: 'frank' },
  { args: ['role', 'list'] },
  { args: ['role', 'list', '-o', 'json'] },
  { args: ['role', 'show', 'researcher'] },
  { args: ['role', 'show', 'team-admin', '-o', 'yaml'] },
  { args: ['role', 'show', 'nope'] },
  { args: ['role', 'assignment', 'list'] },
  { args: ['role', 'assignment', 'list', '--user', 'alice'] },
  { args: ['role', 'assignment', 'list', '--team', 'vision', '-o', 'yaml'] },
  { args: ['role', 'assignment', 'list', '--group', 'oidc:ml'] },
  { args: ['role', 'assignment', 'list', '--role', 'researcher'] },
  { args: ['team', 'list'] },
  { args: ['team', 'list', '-o', 'yaml'] },
  { args: ['team', 'show', 'vision'] },
  { args: ['team', 'show', 'nlp', '-o', 'json'] },
  { args: ['permission', 'list'] },
  { args: ['permission', 'list', '-o', 'json'] },
  { args: ['can-i', 'create', 'jobs', '-n', 'vision-dev', '--as', 'alice', '--config', '@policy'] },
  { args: ['can-i', 'create', 'jobs', '-n', 'nlp-dev', '--as', 'alice', '--config', '@policy'] },
  { args: ['can-i', 'get', 'pods', '-n', 'alice-scratch', '--as', 'alice', '--config', '@policy'] },
  { args: ['can-i', 'get', 'pods', '-n', 'sandbox', '--as', 'erin', '--config', '@policy', '-o', 'json'] },
  { args: ['explain', 'create', 'jobs', '-n', 'vision-dev', '--as', 'alice', '--config', '@policy'] },
  { args: ['explain', 'create', 'jobs', '-n', 'nlp-dev', '--as', 'someone', '--as-group', 'oidc:ml', '--config', '@policy'] },
  { args: ['explain', 'delete', 'nodes', '--as', 'dave', '--config', '@policy'] },
  { args: ['explain', 'get', 'secrets', '-n', 'vision-dev', '--as', 'frank', '--config', '@policy', '-o', 'yaml'] },
  { args: ['explain', 'get', 'pods', '-n', 'public-datasets', '--as', 'erin', '--config', '@policy', '--ask-apiserver'] },
  { args: ['explain', 'get', '/metrics', '--as', 'grace', '--config', '@policy'] },
  { args: ['who-can', 'create', 'jobs', '-n', 'vision-dev', '--config', '@policy'] },
  { args: ['who-can', 'delete', 'users.iam.gatehouse.dev', '--config', '@policy', '-o', 'json'] },
  { args: ['who-can', 'get', 'pods', '-n', 'sandbox'] },
  { args: ['explain', 'create', 'jobs', '-n', 'vision-dev', '--as', 'alice'], as: 'frank' },
  { args: ['user', 'list'], as: 'alice' },
  { args: ['team', 'list'], as: 'frank' },
  { args: ['role', 'list'], as: 'erin' },
  { args: ['nonsense'] },
  { args: ['role', 'assign', 'researcher', '--user', 'erin', '--scope', 'bogus:x'] },
  { args: ['role', 'assign', 'researcher', '--user', 'erin', '--scope', 'cluster', '--scope', 'team:vision'] },
  { args: ['role', 'create', 'broken', '-p', 'jobs:fly'] },
  { args: ['role', 'assign', 'researcher', '--user', 'erin', '--scope', 'cluster', '--expires', 'yesterday'] },
];

const WRITES: Run[] = [
  { args: ['user', 'activate', 'bob'] },
  { args: ['user', 'activate', 'bob'] },
  { args: ['user', 'suspend', 'erin'] },
  { args: ['user', 'activate', 'erin', '-o', 'yaml'] },
  { args: ['user', 'reject', 'carol'] },
  { args: ['user', 'activate', 'nobody'] },
  { args: ['user', 'create', 'henry', '--email', 'henry@example.com', '--team', 'nlp', '--role', 'viewer', '--scope', 'team:nlp', '--no-invite'] },
  { args: ['user', 'create', 'ivy', '--state', 'Pending', '--no-invite', '-o', 'json'] },
  { args: ['superuser', 'grant', 'erin'] },
  { args: ['superuser', 'revoke', 'erin'] },
  { args: ['superuser', 'grant', 'alice'], as: 'frank' },
  { args: ['team', 'create', 'audio', '--member', 'erin', '--namespace', 'sandbox', '--description', 'Speech'] },
  { args: ['team', 'add', 'audio', 'frank', 'bob'] },
  { args: ['team', 'add', 'audio', 'frank'] },
  { args: ['team', 'remove', 'audio', 'bob', '--group', 'oidc:none'] },
  { args: ['team', 'add', 'audio', '--namespace', 'nlp-dev', '-o', 'yaml'] },
  { args: ['role', 'create', 'auditor', '-p', 'read', '-p', 'jobs:write', '--description', 'Reads'] },
  { args: ['role', 'create', 'auditor', '-p', 'read'] },
  { args: ['role', 'create', 'composite', '--include', 'auditor', '--can-assign', 'viewer', '-o', 'yaml'] },
  { args: ['role', 'assign', 'auditor', '--team', 'audio', '--scope', 'team:audio'] },
  { args: ['role', 'assign', 'auditor', '--team', 'audio', '--scope', 'team:audio'] },
  { args: ['role', 'assign', 'ghost', '--user', 'erin', '--scope', 'namespace:sandbox', '--name', 'erin-ghost'] },
  { args: ['role', 'assign', 'researcher', '--user', 'erin', '--scope', 'team:vision'], as: 'frank' },
  { args: ['role', 'assign', 'team-admin', '--user', 'erin', '--scope', 'team:vision'], as: 'frank' },
  { args: ['role', 'assign', 'viewer', '--group', 'oidc:audio', '--scope', 'namespaces:sandbox,nlp-dev', '--expires', '2098-01-01T00:00:00Z', '-o', 'json'] },
  { args: ['role', 'assignment', 'delete', 'erin-ghost'] },
  { args: ['role', 'delete', 'composite'] },
  { args: ['role', 'delete', 'auditor'] },
  { args: ['team', 'delete', 'audio'] },
  { args: ['user', 'delete', 'ivy'] },
  { args: ['user', 'delete', 'ivyy'] },
];

function request(port: number, pathAndQuery: string, headers: Record<string, string>, method = 'GET', body?: string): Promise<{ status: number; type: string; cookie: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: pathAndQuery, method, headers }, (res) => {
      let text = '';
      res.on('data', (c) => (text += String(c)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), cookie: res.headers['set-cookie']?.[0]?.split(';')[0], body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const CONSOLE_GETS = [
  '/api/session',
  '/api/pending',
  '/api/pending?q=bob',
  '/api/users',
  '/api/users?state=Active&limit=2&offset=1',
  '/api/users?q=vision',
  '/api/teams',
  '/api/teams?q=nlp',
  '/api/roles',
  '/api/roles?q=research&limit=1',
  '/api/access/explain?verb=create&resource=jobs&namespace=vision-dev&user=alice',
  '/api/access/explain?verb=get&resource=pods&namespace=alice-scratch&user=alice',
  '/api/access/explain?verb=create&resource=jobs&namespace=nlp-dev&user=someone&group=oidc:ml',
  '/api/access/explain?verb=delete&resource=nodes&user=dave',
  '/api/access/explain?verb=get&resource=/metrics&user=grace',
  '/api/access/explain?verb=fly&resource=jobs&user=alice',
  '/api/access/explain?verb=get&resource=pods',
  '/api/access/who-can?verb=create&resource=jobs&namespace=vision-dev',
  '/api/access/who-can?verb=delete&resource=users.iam.gatehouse.dev',
  '/api/access/who-can?verb=get&resource=nodes&namespace=x',
  '/api/nothing',
];
const CONSOLE_POSTS: Array<[string, unknown]> = [
  ['/api/users/state', { state: 'Active', names: ['bob', 'nobody'] }],
  ['/api/users/state', { state: 'Suspended', names: ['erin'] }],
  ['/api/users/state', { state: 'Active', names: ['erin', 'erin'] }],
  ['/api/users/state', { state: 'Gone', names: ['erin'] }],
  ['/api/users/state', { state: 'Active', names: [] }],
  ['/api/users/superuser', { grant: true, names: ['erin'] }],
  ['/api/users/superuser', { grant: false, names: ['erin', 'grace2'] }],
  ['/api/users/superuser', { grant: 'yes', names: ['erin'] }],
  ['/api/teams/members', { team: 'nlp', action: 'add', members: ['erin', 'bob'] }],
  ['/api/teams/members', { team: 'nlp', action: 'add', members: ['erin'] }],
  ['/api/teams/members', { team: 'nlp', action: 'remove', members: ['bob'] }],
  ['/api/teams/members', { team: 'nope', action: 'remove', members: ['bob'] }],
  ['/api/teams/members', { team: 'nlp', action: 'swap', members: ['bob'] }],
  ['/api/roles', { name: 'console-role', permissions: ['read', 'jobs:write'], description: 'From the console' }],
  ['/api/roles', { name: 'console-role', permissions: ['read'] }],
  ['/api/roles', { name: 'bad-role', permissions: ['jobs:fly'] }],
  ['/api/roles', { name: 'empty-role', permissions: [] }],
  ['/api/assignments', { role: 'console-role', team: 'nlp', scope: 'team:nlp' }],
  ['/api/assignments', { role: 'console-role', team: 'nlp', scope: 'team:nlp' }],
  ['/api/assignments', { role: 'viewer', user: 'erin', scope: 'namespace:sandbox', expires: '2098-01-01T00:00:00Z' }],
  ['/api/assignments', { role: 'viewer', user: 'erin', team: 'nlp', scope: 'cluster' }],
  ['/api/assignments', { role: 'viewer', user: 'erin', scope: 'planet:earth' }],
  ['/api/assignments', { role: 'viewer', user: 'erin', scope: 'cluster', expires: 'soon' }],
  ['/api/assignments', { role: 'researcher', user: 'erin', scope: 'team:vision' }],
];

async function main(): Promise<void> {
  const out = process.argv[2];
  if (!out) throw new Error('usage: node dist/scripts/faces-snapshot.js OUT_DIR');
  await rm(out, { recursive: true, force: true });
  await mkdir(path.join(out, 'cli'), { recursive: true });
  await mkdir(path.join(out, 'console'), { recursive: true });
  const now = Date.now();
  const stack: Stack = await startStack({
    config: { ...POLICY, console: { enabled: true, host: '127.0.0.1', port: 0 } },
    controlPlane: { users: Object.entries(TOKENS).map(([user, t]) => ({ token: t.token, user, groups: t.groups })) },
  });
  const children: ChildProcess[] = [];
  try {
    const policyFile = path.join(out, '..', `${path.basename(out)}.policy.json`);
    await writeFile(policyFile, JSON.stringify(POLICY));
    for (const f of (await readdir(SAMPLES)).filter((n) => n.endsWith('.yaml')).sort()) {
      await stack.kubectlOk(['apply', '-f', '-'], { input: await readFile(path.join(SAMPLES, f), 'utf8') });
    }
    await stack.settle();

    let n = 0;
    const cli = async (group: string, r: Run): Promise<void> => {
      const args = r.args.map((a) => (a === '@policy' ? policyFile : a));
      const res = await runCommand(process.execPath, [CLI, ...args, ...(r.as ? ['--as', r.as] : [])], {
        input: r.input,
        timeoutMs: 60_000,
        env: { ...process.env, KUBECONFIG: stack.cp.kubeconfigPath, NO_COLOR: '1' },
      });
      const name = `${String(++n).padStart(3, '0')}-${group}-${r.args.slice(0, 3).join('-').replace(/[^a-z0-9-]+/gi, '_')}${r.as ? `-as-${r.as}` : ''}.txt`;
      const shown = args.map((a) => (a === policyFile ? 'POLICY' : a)).join(' ');
      const stderr = sortRuns(res.stderr, (line) => line.startsWith('warning: you may not list '));
      await writeFile(path.join(out, 'cli', name), normalize(`$ kubectl-gatehouse ${shown}${r.as ? ` --as ${r.as}` : ''}\nexit ${res.code}\n--- stdout\n${res.stdout}--- stderr\n${stderr}`, now, policyFile));
    };
    for (const r of READS) await cli('read', r);
    for (const r of WRITES) {
      await cli('write', r);
      await stack.settle();
    }
    for (const r of READS.slice(3, 25)) await cli('again', r);

    // The console: the local mode as grace (a superuser) and as frank (a delegated admin), then the
    // operator mode with bearer tokens; the same reads before and after the same changes.
    let m = 0;
    const record = async (who: string, method: string, p: string, res: { status: number; type: string; body: string }): Promise<void> => {
      const name = `${String(++m).padStart(3, '0')}-${who}-${method}-${p.replace(/^\/api\//, '').replace(/[^a-z0-9]+/gi, '_').slice(0, 80)}.txt`;
      let body = res.body;
      try {
        const value = JSON.parse(res.body) as { unreadable?: Array<{ what: string }> };
        if (Array.isArray(value.unreadable)) value.unreadable.sort((a, b) => (a.what < b.what ? -1 : a.what > b.what ? 1 : 0));
        body = JSON.stringify(value, null, 1);
      } catch {
        /* not JSON: as sent */
      }
      await writeFile(path.join(out, 'console', name), normalize(`${method} ${p}\nstatus ${res.status}\ncontent-type ${res.type}\n${body}\n`, now, policyFile));
    };
    const local = async (as: string): Promise<{ port: number; cookie: string; stop: () => Promise<void> }> => {
      const child = spawn(process.execPath, [CLI, 'console', '--no-open', '--as', as, '--config', policyFile], { env: { ...process.env, KUBECONFIG: stack.cp.kubeconfigPath }, stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('console did not print its URL')), 180_000);
        createInterface({ input: child.stdout! }).on('line', (line) => {
          const hit = /(http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(line);
          if (hit?.[1]) {
            clearTimeout(timer);
            resolve(hit[1]);
          }
        });
        child.on('exit', (code) => reject(new Error(`console exited ${code}`)));
      });
      const u = new URL(url);
      const port = Number(u.port);
      const first = await request(port, `/?token=${u.searchParams.get('token')}`, { Host: `127.0.0.1:${port}` });
      if (!first.cookie) throw new Error(`no session cookie (${first.status})`);
      return { port, cookie: first.cookie, stop: () => new Promise((resolve) => { child.once('exit', () => resolve()); child.kill('SIGTERM'); }) };
    };
    const session = async (who: string, port: number, headers: Record<string, string>, posts: boolean): Promise<void> => {
      for (const p of CONSOLE_GETS) await record(who, 'GET', p, await request(port, p, headers));
      if (!posts) return;
      for (const [p, body] of CONSOLE_POSTS) {
        await record(who, 'POST', p, await request(port, p, { ...headers, Origin: `http://127.0.0.1:${port}`, 'Content-Type': 'application/json' }, 'POST', JSON.stringify(body)));
        await stack.settle();
      }
      for (const p of CONSOLE_GETS.slice(0, 10)) await record(`${who}-after`, 'GET', p, await request(port, p, headers));
    };
    for (const as of ['frank', 'alice']) {
      const c = await local(as);
      await session(`local-${as}`, c.port, { Host: `127.0.0.1:${c.port}`, Cookie: c.cookie }, as === 'frank');
      await c.stop();
    }
    const g = await local('grace');
    await session('local-grace', g.port, { Host: `127.0.0.1:${g.port}`, Cookie: g.cookie }, true);
    await g.stop();
    const port = stack.operator.consolePort;
    if (port === undefined) throw new Error('the operator serves no console');
    for (const [who, t] of Object.entries(TOKENS)) await session(`operator-${who}`, port, { Host: `127.0.0.1:${port}`, Authorization: `Bearer ${t.token}` }, false);
    await record('operator-none', 'GET', '/api/users', await request(port, '/api/users', { Host: `127.0.0.1:${port}` }));
    await rm(policyFile, { force: true });
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    await stack.stop();
  }
}

// Stopped early: exit through process.exit, so the control plane's exit hook ends etcd and the API server.
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(1));

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`faces-snapshot: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);

// `npm run local`: Gatehouse on an embedded control plane. Starts the project's own etcd and
// kube-apiserver with the authorization webhook pointing at an operator it runs, configured from
// helm/gatehouse/values.yaml, registers both admission webhooks, installs the CRDs and samples/,
// and prints how to act as each sample user.
//
//   npm run local                      foreground until Ctrl-C
//   npm run local -- --detach          return once ready; `--down` stops everything
//   npm run local -- --values FILE     merge a values file over the chart's
//   npm run local -- --no-samples      skip samples/
//   npm run local -- --dir DIR         keep state in DIR instead of .gatehouse/local
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, rmSync, openSync, copyFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import yaml from 'js-yaml';
import { ControlPlane, freePort, makeServingCert } from '../src/controlplane/controlplane.js';
import { parseConfig } from '../src/config.js';
import { mutatingWebhookConfiguration, validatingWebhookConfiguration } from '../src/admission/webhook-config.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
// Where everything of one local run lives (data dirs, logs, kubeconfig); `--dir` moves it (tests).
let STATE_DIR = path.join(ROOT, '.gatehouse', 'local');
let STATE_FILE = path.join(STATE_DIR, 'state.json');
const OPERATOR_NAMESPACE = 'gatehouse-system';
const OPERATOR_SA = `system:serviceaccount:${OPERATOR_NAMESPACE}:gatehouse`;

/** The product keys of values.yaml that are the operator's configuration (src/config.ts). */
const POLICY_KEYS = ['seedAdmins', 'defaults', 'projects', 'registration', 'authorization', 'presets', 'logLevel'] as const;

interface State {
  supervisorPid: number;
  pids: number[];
  ready: boolean;
  kubeconfig: string;
}

function log(msg: string): void {
  process.stderr.write(`[local] ${msg}\n`);
}

function readState(): State | undefined {
  try {
    return JSON.parse(readFileSync(STATE_FILE, 'utf8')) as State;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function deepMerge(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (base && over && typeof base === 'object' && typeof over === 'object' && !Array.isArray(base) && !Array.isArray(over)) {
    const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [k, v] of Object.entries(over as Record<string, unknown>)) out[k] = deepMerge(out[k], v);
    return out;
  }
  return over;
}

function loadYamlFile(file: string): Record<string, unknown> {
  const doc = yaml.load(readFileSync(file, 'utf8'));
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${file}: a values file must be a mapping`);
  return doc as Record<string, unknown>;
}

/** The operator's configuration: the chart's values (with --values merged), plus local settings. */
function operatorConfig(valuesFile: string | undefined, port: number, certFile: string, keyFile: string, kubeconfig: string): Record<string, unknown> {
  // The local run is a demo: every preset's roles are installed unless a values file says otherwise.
  let values = deepMerge(loadYamlFile(path.join(ROOT, 'helm', 'gatehouse', 'values.yaml')), {
    presets: { zenml: true, runai: true, adaptive: true },
  }) as Record<string, unknown>;
  if (valuesFile) values = deepMerge(values, loadYamlFile(path.resolve(valuesFile))) as Record<string, unknown>;
  const cfg: Record<string, unknown> = {};
  for (const key of POLICY_KEYS) if (values[key] !== undefined) cfg[key] = values[key];
  cfg['server'] = { host: '127.0.0.1', port, certFile, keyFile };
  cfg['operator'] = {
    namespace: OPERATOR_NAMESPACE,
    serviceAccountUsername: OPERATOR_SA,
    identity: 'gatehouse-local',
    kubeconfig,
    leaderElection: { enabled: true, leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 2 },
  };
  parseConfig(cfg, 'the local run configuration'); // fail here, with the reason, rather than in the operator
  return cfg;
}

function waitForOperator(url: string, ca: Buffer, timeoutMs: number, operator: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      if (operator.exitCode !== null) return reject(new Error(`the operator exited with ${operator.exitCode}; see ${path.join(STATE_DIR, 'operator.log')}`));
      if (Date.now() > deadline) return reject(new Error(`the operator was not ready after ${timeoutMs} ms; see ${path.join(STATE_DIR, 'operator.log')}`));
      const req = https.get(`${url}/readyz`, { ca, timeout: 2000 }, (res) => {
        res.resume();
        if (res.statusCode === 200) resolve();
        else setTimeout(attempt, 250);
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => setTimeout(attempt, 250));
    };
    attempt();
  });
}

function instructions(kubeconfig: string): string {
  const k = `kubectl --kubeconfig ${path.relative(process.cwd(), kubeconfig) || kubeconfig}`;
  return `
Gatehouse is running on a local control plane.

  Admin (system:masters, the break-glass identity):
    ${k} get gatehouse

  Act as a sample user (impersonation sends the request through Gatehouse's webhooks):
    ${k} --as alice get pods -n vision-dev            # Active, team vision: researcher there
    ${k} --as alice get pods -n nlp-dev               # not alice's team: no opinion, RBAC says no
    ${k} --as alice create configmap x -n alice-scratch   # alice owns this project
    ${k} --as bob get pods -n vision-dev              # Pending: denied even with bindings
    ${k} --as carol get pods -n public-datasets       # Rejected: denied
    ${k} --as dave get pods -n nlp-dev                # Suspended: denied
    ${k} --as erin get namespaces                     # cluster-wide viewer
    ${k} --as frank --as-group oidc:ml get pods -n nlp-dev   # through an identity-provider group
    ${k} --as grace delete namespace sandbox --dry-run=server  # superuser
    ${k} auth can-i --list --as alice -n vision-dev

  Logs: ${path.relative(process.cwd(), STATE_DIR)}/operator.log
`;
}

async function supervise(opts: { values: string | undefined; samples: boolean }): Promise<void> {
  mkdirSync(STATE_DIR, { recursive: true });
  const pki = path.join(STATE_DIR, 'pki');
  rmSync(pki, { recursive: true, force: true });
  const tls = await makeServingCert(pki, 'gatehouse');
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  const operatorToken = `operator-${Math.random().toString(36).slice(2)}`;

  log('starting etcd and kube-apiserver');
  const cp = await ControlPlane.start({
    baseDir: STATE_DIR,
    authorizationWebhook: { url: `${url}/authorize`, caFile: tls.caCert },
    users: [{ token: operatorToken, user: OPERATOR_SA, groups: ['system:serviceaccounts', `system:serviceaccounts:${OPERATOR_NAMESPACE}`] }],
  });
  let operator: ChildProcess | undefined;
  const shutdown = async (code: number): Promise<never> => {
    if (operator && operator.exitCode === null) {
      operator.kill('SIGTERM');
      await new Promise((r) => {
        const t = setTimeout(() => operator?.kill('SIGKILL'), 10_000);
        operator?.once('exit', () => {
          clearTimeout(t);
          r(undefined);
        });
      });
    }
    await cp.stop();
    rmSync(STATE_FILE, { force: true });
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  try {
    log('installing the CRDs and the operator namespace');
    await cp.kubectlOk(['apply', '-f', path.join(ROOT, 'crds')]);
    await cp.kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '-l', 'app.kubernetes.io/part-of=gatehouse']);
    await cp.kubectlOk(['create', 'namespace', OPERATOR_NAMESPACE]);
    // The local operator runs as its service account's name with a static token; the chart gives the
    // same identity a least-privilege ClusterRole, the local run simply makes it cluster-admin.
    await cp.kubectlOk(['create', 'clusterrolebinding', 'gatehouse-local', '--clusterrole=cluster-admin', `--user=${OPERATOR_SA}`]);

    const operatorKubeconfig = await cp.kubeconfigFor(operatorToken, 'operator');
    const cfgFile = path.join(STATE_DIR, 'config.yaml');
    writeFileSync(cfgFile, yaml.dump(operatorConfig(opts.values, port, tls.cert, tls.key, operatorKubeconfig)));

    log(`starting the operator on ${url}`);
    const logFd = openSync(path.join(STATE_DIR, 'operator.log'), 'a');
    operator = spawn(process.execPath, [path.join(ROOT, 'dist', 'src', 'main.js'), '--config', cfgFile], {
      stdio: ['ignore', logFd, logFd],
    });
    operator.on('exit', (code) => {
      log(`the operator exited (${code})`);
    });
    await waitForOperator(url, readFileSync(tls.caCert), 60_000, operator);

    log('registering the admission webhooks');
    const whOpts = { urlBase: url, caBundle: readFileSync(tls.caCert, 'utf8'), operatorNamespace: OPERATOR_NAMESPACE };
    const configs = [validatingWebhookConfiguration(whOpts), mutatingWebhookConfiguration(whOpts)];
    await cp.kubectlOk(['apply', '-f', '-'], { input: configs.map((c) => JSON.stringify(c)).join('\n') });

    if (opts.samples) {
      log('applying samples/');
      await cp.kubectlOk(['apply', '-f', path.join(ROOT, 'samples')]);
    }
    const kubeconfig = path.join(STATE_DIR, 'kubeconfig');
    copyFileSync(cp.kubeconfigPath, kubeconfig);
    const state: State = {
      supervisorPid: process.pid,
      pids: [...cp.pids(), ...(operator.pid ? [operator.pid] : [])],
      ready: true,
      kubeconfig,
    };
    writeFileSync(STATE_FILE, JSON.stringify(state, null, 2));
    writeFileSync(path.join(STATE_DIR, 'instructions.txt'), instructions(kubeconfig));
    process.stdout.write(instructions(kubeconfig));
    process.stdout.write('\nPress Ctrl-C to stop.\n');
  } catch (err) {
    log(`failed: ${(err as Error).message}`);
    await shutdown(1);
  }
}

async function detach(args: string[]): Promise<void> {
  mkdirSync(STATE_DIR, { recursive: true });
  rmSync(STATE_FILE, { force: true });
  const out = openSync(path.join(STATE_DIR, 'local.log'), 'w');
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...args.filter((a) => a !== '--detach')], {
    detached: true,
    stdio: ['ignore', out, out],
  });
  child.unref();
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    const state = readState();
    if (state?.ready) {
      process.stdout.write(readFileSync(path.join(STATE_DIR, 'instructions.txt'), 'utf8'));
      process.stdout.write(`\nRunning in the background (pid ${state.supervisorPid}); stop it with: npm run local -- --down\n`);
      return;
    }
    if (child.pid !== undefined && !alive(child.pid)) break;
    await new Promise((r) => setTimeout(r, 300));
  }
  process.stderr.write(readFileSync(path.join(STATE_DIR, 'local.log'), 'utf8'));
  throw new Error('the local control plane did not become ready; the log is above');
}

async function down(): Promise<void> {
  const state = readState();
  if (!state) {
    log('nothing is running');
    return;
  }
  if (alive(state.supervisorPid)) process.kill(state.supervisorPid, 'SIGTERM');
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && [state.supervisorPid, ...state.pids].some(alive)) {
    await new Promise((r) => setTimeout(r, 200));
  }
  // The supervisor stops its children; whatever is still there after 30 s is killed by pid.
  for (const pid of state.pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(STATE_FILE, { force: true });
  log('stopped');
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const { values } = parseArgs({
    args: argv,
    options: {
      detach: { type: 'boolean', default: false },
      down: { type: 'boolean', default: false },
      values: { type: 'string' },
      'no-samples': { type: 'boolean', default: false },
      dir: { type: 'string' },
    },
    strict: true,
  });
  if (values.dir) {
    STATE_DIR = path.resolve(values.dir);
    STATE_FILE = path.join(STATE_DIR, 'state.json');
  }
  if (values.down) return down();
  const running = readState();
  if (running && alive(running.supervisorPid)) {
    throw new Error(`Gatehouse is already running locally (pid ${running.supervisorPid}); stop it with: npm run local -- --down`);
  }
  if (values.values && !existsSync(values.values)) throw new Error(`--values: no such file ${values.values}`);
  if (values.detach) return detach(argv);
  await supervise({ values: values.values, samples: !values['no-samples'] });
}

main().catch((err: unknown) => {
  process.stderr.write(`npm run local: ${(err as Error).message}\n`);
  process.exit(1);
});

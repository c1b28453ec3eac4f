// `npm run local`: Gatehouse on an embedded control plane. Starts the project's own etcd and
// kube-apiserver with the authorization webhook pointing at an operator it runs, configured from
// helm/gatehouse/values.yaml, registers both admission webhooks, installs the CRDs and samples/,
// and prints how to act as each sample user.
//
//   npm run local                      foreground until Ctrl-C
//   npm run local -- --detach          return once ready; `--down` stops everything
//   npm run local -- --values FILE     merge a values file over the chart's: every operator setting
//                                      applies (credentials and its proxy, the console, the token
//                                      webhook); a deployment-only value set to anything but the
//                                      chart's default is refused by name
//   npm run local -- --no-samples      skip samples/
//   npm run local -- --dir DIR         keep state in DIR instead of .gatehouse/local
//   npm run local -- --cluster         the chart and the image in real pods on a single-node
//                                      cluster instead (root on Linux; scripts/local-cluster.ts)
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, rmSync, openSync, copyFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import yaml from 'js-yaml';
import { isDeepStrictEqual } from 'node:util';
import { ControlPlane, freePort, makeServingCert } from '../src/controlplane/controlplane.js';
import { parseConfig } from '../src/config.js';
import { mutatingWebhookConfiguration, validatingWebhookConfiguration } from '../src/admission/webhook-config.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
// Where everything of one local run lives (data dirs, logs, kubeconfig); `--dir` moves it (tests).
let STATE_DIR = path.join(ROOT, '.gatehouse', 'local');
let STATE_FILE = path.join(STATE_DIR, 'state.json');
const OPERATOR_NAMESPACE = 'gatehouse-system';
const OPERATOR_SA = `system:serviceaccount:${OPERATOR_NAMESPACE}:gatehouse`;

/** Keys of values.yaml that the operator's configuration takes as they are (src/config.ts). */
const POLICY_KEYS = ['seedAdmins', 'defaults', 'projects', 'registration', 'authorization', 'presets', 'cluster', 'logLevel'] as const;
/**
 * Every values path the local run applies (the chart's `gatehouse.config` in _helpers.tpl is the
 * model, plus the webhook settings the local API server can honour). Any other path a --values
 * file sets to something other than the chart's default is refused by name: it has no meaning here
 * (replicas, image, Services, certificates), and silently dropping it would mislead.
 */
const APPLIED_PATHS = [...POLICY_KEYS, 'credentials', 'server', 'operator', 'console', 'webhook.timeoutSeconds', 'webhook.clientCertificates.enabled'] as const;

/** Dotted paths of the leaves of a values document (a list is a leaf). */
function leaves(doc: unknown, prefix = ''): { path: string; value: unknown }[] {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return [{ path: prefix, value: doc }];
  const entries = Object.entries(doc as Record<string, unknown>);
  if (entries.length === 0) return [{ path: prefix, value: doc }];
  return entries.flatMap(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k));
}

function valueAt(doc: unknown, dotted: string): unknown {
  let cur = doc;
  for (const k of dotted.split('.')) {
    if (!cur || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

/** The settings of a --values file the local run cannot apply, by path ([] when all apply). */
function unappliedValues(user: Record<string, unknown>, chartDefaults: Record<string, unknown>): string[] {
  return leaves(user)
    .filter(({ path: p }) => !APPLIED_PATHS.some((a) => p === a || p.startsWith(`${a}.`)))
    .filter(({ path: p, value }) => !isDeepStrictEqual(value, valueAt(chartDefaults, p)))
    .map(({ path: p }) => p);
}

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

/** The chart's values with --values merged over them; refuses settings the local run cannot apply. */
function mergedValues(valuesFile: string | undefined): Record<string, unknown> {
  const chart = loadYamlFile(path.join(ROOT, 'helm', 'gatehouse', 'values.yaml'));
  // The local run is a demo: every preset's roles are installed unless a values file says otherwise.
  const values = deepMerge(chart, { presets: { zenml: true, runai: true, adaptive: true } }) as Record<string, unknown>;
  if (!valuesFile) return values;
  const user = loadYamlFile(path.resolve(valuesFile));
  const refused = unappliedValues(user, chart);
  if (refused.length > 0) {
    throw new Error(`--values ${valuesFile}: the local run cannot apply ${refused.join(', ')} (deployment settings of the chart; `
      + 'leave them at the chart\'s defaults or use a values file without them)');
  }
  return deepMerge(values, user) as Record<string, unknown>;
}

/** The local run's own addresses and files the configuration needs besides the values. */
interface LocalSettings {
  port: number;
  proxyPort: number;
  consolePort: number;
  certFile: string;
  keyFile: string;
  caFile: string;
  kubeconfig: string;
  /** webhook.clientCertificates.enabled: the CA whose certificate the local API server presents. */
  clientCAFile?: string;
}

const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : {});

/**
 * The operator's configuration from the chart's values (with --values merged), built the way the
 * chart's `gatehouse.config` builds it, with loopback addresses and the local certificate files.
 */
function operatorConfig(values: Record<string, unknown>, local: LocalSettings): Record<string, unknown> {
  const cfg: Record<string, unknown> = {};
  for (const key of POLICY_KEYS) if (values[key] !== undefined) cfg[key] = values[key];
  cfg['server'] = {
    ...obj(values['server']),
    host: '127.0.0.1', port: local.port, certFile: local.certFile, keyFile: local.keyFile,
    ...(local.clientCAFile ? { clientCAFile: local.clientCAFile } : {}),
  };
  const credentials = obj(values['credentials']);
  cfg['credentials'] = {
    ...credentials,
    // Users reach the proxy on loopback and trust the local CA (the discovery ConfigMap says so).
    proxy: { ...obj(credentials['proxy']), host: '127.0.0.1', port: local.proxyPort, caFile: local.caFile },
  };
  cfg['console'] = { ...obj(values['console']), host: '127.0.0.1', port: local.consolePort };
  const op = obj(values['operator']);
  cfg['operator'] = {
    ...op,
    namespace: OPERATOR_NAMESPACE,
    serviceAccountUsername: OPERATOR_SA,
    identity: 'gatehouse-local',
    kubeconfig: local.kubeconfig,
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

interface CredentialsNote {
  proxyUrl: string | undefined;
  consoleUrl: string | undefined;
}

/** How to try the credentials layer: invite a sample user, activate, act through the proxy. */
function credentialsInstructions(kubeconfig: string, note: CredentialsNote): string {
  const rel = (p: string): string => path.relative(process.cwd(), p) || p;
  const cli = `node ${rel(path.join(ROOT, 'dist', 'src', 'cli', 'main.js'))}`;
  const gh = `${cli} --kubeconfig ${rel(kubeconfig)}`;
  const aliceCfg = rel(path.join(STATE_DIR, 'alice.kubeconfig'));
  const lines = [`
  Credentials (credentials.enabled): Gatehouse tokens work straight at the API server (webhook token
  authentication is wired to the operator's /authenticate)${note.proxyUrl ? ` and through the proxy at ${note.proxyUrl}` : ''}.
    ${gh} user invite alice      # prints alice's single-use activate command
    ${cli} activate <gatehouse_inv_...> --server <as printed> --certificate-authority-data <as printed> --kubeconfig ${aliceCfg}
    kubectl --kubeconfig ${aliceCfg} get pods -n vision-dev   # as alice, with her own token${note.proxyUrl ? ', through the proxy' : ''}
    kubectl --kubeconfig ${aliceCfg} get pods -n nlp-dev      # not alice's team: refused
    ${gh} user revoke alice      # her token ends at once (open watches through the proxy too)`];
  if (note.consoleUrl) lines.push(`
  Console (console.enabled): ${note.consoleUrl} (send Authorization: Bearer <a token>, e.g. alice's)`);
  return lines.join('\n') + '\n';
}

function instructions(kubeconfig: string, mode: string, note?: CredentialsNote): string {
  const k = `kubectl --kubeconfig ${path.relative(process.cwd(), kubeconfig) || kubeconfig}`;
  const rbacNote = mode === 'rbac'
    ? `
  Authorization mode rbac: the API server runs RBAC only (what EKS, GKE and AKS give); Gatehouse's
  grants are native objects (${k} get clusterroles,clusterrolebindings,rolebindings -A -l app.kubernetes.io/managed-by=gatehouse).
  RBAC only adds grants: the inactive users below are refused because no Gatehouse object names them.
`
    : '';
  return `
Gatehouse is running on a local control plane (authorization mode ${mode}).
${rbacNote}
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
${note ? credentialsInstructions(kubeconfig, note) : ''}
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

  const values = mergedValues(opts.values);
  const mode = String(obj(values['authorization'])['mode'] ?? 'webhook');
  const credentialsOn = obj(values['credentials'])['enabled'] === true;
  const proxyOn = credentialsOn && obj(obj(values['credentials'])['proxy'])['enabled'] !== false;
  const consoleOn = obj(values['console'])['enabled'] === true;
  const webhook = obj(values['webhook']);
  const clientCerts = obj(webhook['clientCertificates'])['enabled'] === true;
  // The API server's webhook client pair, signed by the local CA, when the values ask for it.
  const client = clientCerts ? await makeServingCert(pki, 'apiserver-webhook-client') : undefined;
  const userConsolePort = opts.values ? valueAt(loadYamlFile(path.resolve(opts.values)), 'console.port') : undefined;
  const local: LocalSettings = {
    port,
    // Picked once the control plane holds its own ports, so none of them can be picked twice.
    proxyPort: 0,
    consolePort: 0,
    certFile: tls.cert,
    keyFile: tls.key,
    caFile: tls.caCert,
    kubeconfig: '',
    ...(client ? { clientCAFile: tls.caCert } : {}),
  };
  log(`starting etcd and kube-apiserver (authorization mode ${mode}${mode === 'rbac' ? ': --authorization-mode=RBAC only, no webhook' : ''}${credentialsOn ? '; webhook token authentication' : ''})`);
  const cp = await ControlPlane.start({
    baseDir: STATE_DIR,
    ...(mode === 'rbac' ? {} : { authorizationWebhook: { url: `${url}/authorize`, caFile: tls.caCert } }),
    ...(credentialsOn ? { tokenWebhook: { url: `${url}/authenticate`, caFile: tls.caCert } } : {}),
    ...(client ? { webhookClientCert: { cert: client.cert, key: client.key } } : {}),
    users: [{ token: operatorToken, user: OPERATOR_SA, groups: ['system:serviceaccounts', `system:serviceaccounts:${OPERATOR_NAMESPACE}`] }],
  });
  local.proxyPort = await freePort();
  local.consolePort = typeof userConsolePort === 'number' ? userConsolePort : await freePort();
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
    writeFileSync(cfgFile, yaml.dump(operatorConfig(values, { ...local, kubeconfig: operatorKubeconfig })));

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
    const timeoutSeconds = typeof webhook['timeoutSeconds'] === 'number' ? webhook['timeoutSeconds'] : undefined;
    const whOpts = { urlBase: url, caBundle: readFileSync(tls.caCert, 'utf8'), operatorNamespace: OPERATOR_NAMESPACE, ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}) };
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
    const note = credentialsOn || consoleOn
      ? { proxyUrl: proxyOn ? `https://127.0.0.1:${local.proxyPort}` : undefined, consoleUrl: consoleOn ? `http://127.0.0.1:${local.consolePort}/` : undefined }
      : undefined;
    const text = credentialsOn ? instructions(kubeconfig, mode, note) : instructions(kubeconfig, mode) + (note?.consoleUrl ? `\n  Console: ${note.consoleUrl} (send Authorization: Bearer <a token>)\n` : '');
    writeFileSync(path.join(STATE_DIR, 'instructions.txt'), text);
    process.stdout.write(text);
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
      cluster: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.cluster) {
    if (values.detach || values.down || values.dir) throw new Error('--cluster runs in the foreground (Ctrl-C stops it); --detach, --down and --dir do not apply');
    const { runCluster, checkValuesFile } = await import('./local-cluster.js');
    checkValuesFile(values.values);
    return runCluster(ROOT, { values: values.values, samples: !values['no-samples'] });
  }
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
  // Refuse settings the local run cannot apply here, before anything starts (and before detaching).
  if (values.values) mergedValues(values.values);
  if (values.detach) return detach(argv);
  await supervise({ values: values.values, samples: !values['no-samples'] });
}

main().catch((err: unknown) => {
  process.stderr.write(`npm run local: ${(err as Error).message}\n`);
  process.exit(1);
});

// The embedded control plane: a real kube-apiserver and etcd for `npm run local`, the integration
// tests and the end-to-end benchmark, started on free loopback ports with their own data dir, and
// stopped by pid. Binaries come from scripts/controlplane-install.sh's cache unless
// GATEHOUSE_KUBE_APISERVER / GATEHOUSE_ETCD / GATEHOUSE_KUBECTL / GATEHOUSE_HELM name others
// (envtest's, a newer Kubernetes); src/config.ts (controlPlaneEnv) reads those. A
// kube-controller-manager runs beside every API server (GATEHOUSE_KUBE_CONTROLLER_MANAGER), so
// garbage collection by ownerReference, namespace deletion, service accounts and their tokens,
// ClusterRole aggregation and ResourceQuota status behave as on a real cluster.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, writeFile, readFile, rm, open } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { controlPlaneEnv } from '../config.js';

const execFileP = promisify(execFile);

/** Ports below the kernel's ephemeral range and above the well-known ones, where freePort() looks. */
const PICK_FROM = 15000;

/** The lower bound of the kernel's ephemeral port range (Linux's default when it cannot be read). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32768;
  } catch {
    return 32768;
  }
}

/** Listens on `port` (0: the kernel's choice) and closes again; the port that was free, or undefined. */
function tryListen(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', () => resolve(undefined));
    srv.listen(port, '127.0.0.1', () => {
      const addr = srv.address();
      const got = typeof addr === 'object' && addr ? addr.port : undefined;
      srv.close(() => resolve(got));
    });
  });
}

/**
 * A loopback port that is free now, for a server that starts later (the webhook port is written into
 * the API server's kubeconfig before the operator listens on it). It is taken at random from below
 * the ephemeral range: a port the kernel hands out (listen(0), or the source port of any outgoing
 * connection, of which a loaded test run makes thousands) could be taken by someone else in the
 * seconds before the server binds it, and that made a whole test file fail with EADDRINUSE.
 */
export async function freePort(): Promise<number> {
  const high = ephemeralLow();
  if (high - PICK_FROM > 1000) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = await tryListen(PICK_FROM + Math.floor(Math.random() * (high - PICK_FROM)));
      if (port !== undefined) return port;
    }
  }
  const port = await tryListen(0);
  if (port === undefined) throw new Error('no free loopback port');
  return port;
}

export interface TlsFiles {
  caCert: string;
  caKey: string;
  cert: string;
  key: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  await execFileP('openssl', args, { cwd });
}

/** A CA (once per dir) and a serving certificate for 127.0.0.1 / localhost signed by it. */
export async function makeServingCert(dir: string, name: string, extraSans: string[] = []): Promise<TlsFiles> {
  await mkdir(dir, { recursive: true });
  const caKey = path.join(dir, 'ca.key');
  const caCert = path.join(dir, 'ca.crt');
  if (!existsSync(caCert)) {
    await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKey, '-out', caCert,
      '-days', '3650', '-subj', '/CN=gatehouse-test-ca'], dir);
  }
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const cert = path.join(dir, `${name}.crt`);
  const ext = path.join(dir, `${name}.ext`);
  const sans = ['IP:127.0.0.1', 'DNS:localhost', ...extraSans].join(',');
  await writeFile(ext, `subjectAltName=${sans}\nextendedKeyUsage=serverAuth,clientAuth\n`);
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`], dir);
  await openssl(['x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-out', cert,
    '-days', '3650', '-extfile', ext], dir);
  return { caCert, caKey, cert, key };
}

export interface StaticUser {
  token: string;
  user: string;
  uid?: string;
  groups?: string[];
}

export interface ControlPlaneOptions {
  /**
   * Authorization webhook: the apiserver calls `url` with SubjectAccessReview v1. It goes before RBAC
   * by default (`Webhook,RBAC`), because only then can Gatehouse's deny for a Pending, Rejected or
   * Suspended user stop a request that RBAC would allow (docs/design.md, decision step 4); `after-rbac` gives
   * `RBAC,Webhook`, where Gatehouse can only add grants.
   */
  authorizationWebhook?: { url: string; caFile: string; order?: 'before-rbac' | 'after-rbac' };
  /**
   * A client certificate the API server presents to every webhook (the authorization webhook's
   * kubeconfig and, through an AdmissionConfiguration, the admission webhooks), for a webhook
   * server that checks client certificates (server.clientCAFile; docs/security.md).
   */
  webhookClientCert?: { cert: string; key: string };
  /**
   * Webhook token authentication: the apiserver sends TokenReview v1 to `url` for bearer tokens the
   * static token file does not know (cache off, so a revocation shows at once).
   */
  tokenWebhook?: { url: string; caFile: string };
  /** More static-token identities besides the admin (who is in system:masters). */
  users?: StaticUser[];
  /** Extra kube-apiserver flags. */
  extraArgs?: string[];
  /** Parent for the data dir; a fresh temp dir by default. */
  baseDir?: string;
  /**
   * The address kube-apiserver binds to and advertises (127.0.0.1 by default). The single-node
   * cluster (node.ts) binds to its pod bridge's gateway, since pods cannot reach the host's loopback.
   */
  bindAddress?: string;
  /** --service-cluster-ip-range (10.0.0.0/24 by default); its first address joins the serving certificate. */
  serviceClusterIpRange?: string;
  /**
   * kube-controller-manager: on by default. `serviceAccountCredentials` gives each controller its own
   * service account (as a real cluster does; the single-node cluster sets it). Off by default: then
   * every controller acts as the admin, whom the API server allows before any webhook is asked, so
   * the controllers add no SubjectAccessReviews to what a test counts.
   */
  controllerManager?: false | { serviceAccountCredentials?: boolean };
}

export interface Proc {
  child: ChildProcess;
  exited: Promise<number | null>;
}

export function startProcess(bin: string, args: string[], logFile: string): Promise<Proc> {
  return open(logFile, 'a').then((fh) => {
    const child = spawn(bin, args, { stdio: ['ignore', fh.fd, fh.fd] });
    const exited = new Promise<number | null>((resolve) => {
      child.on('exit', (code) => {
        void fh.close();
        resolve(code);
      });
      child.on('error', () => resolve(-1));
    });
    killOnExit(child);
    void exited.then(() => liveChildren.delete(child));
    return { child, exited };
  });
}

// If the process ends without stop() (a crash, an uncaught error), kill what it started. Registered
// with the first child, so importing this module does nothing.
const liveChildren = new Set<ChildProcess>();
let exitHookSet = false;
function killOnExit(child: ChildProcess): void {
  liveChildren.add(child);
  if (exitHookSet) return;
  exitHookSet = true;
  process.on('exit', () => {
    for (const c of liveChildren) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
}

export async function stopProcess(proc: Proc | undefined, graceMs = 5000): Promise<void> {
  if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), graceMs);
  await proc.exited;
  clearTimeout(timer);
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubectlOptions {
  as?: string;
  asGroups?: string[];
  input?: string;
  /** Use this static token instead of the admin's (so the request is that user's own). */
  token?: string;
  timeoutMs?: number;
}

/** How long to wait for /readyz after starting kube-apiserver (GATEHOUSE_APISERVER_READY_SECONDS, default 240). */
function apiserverReadyMs(): number {
  const text = process.env['GATEHOUSE_APISERVER_READY_SECONDS'];
  const seconds = text === undefined || text === '' ? 240 : Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`GATEHOUSE_APISERVER_READY_SECONDS=${JSON.stringify(text)} is not a positive number of seconds`);
  return seconds * 1000;
}

export class ControlPlane {
  readonly dir: string;
  readonly url: string;
  readonly caFile: string;
  readonly adminToken: string;
  readonly kubeconfigPath: string;
  readonly etcdUrl: string;
  private etcd: Proc | undefined;
  private apiserver: Proc | undefined;
  private controllerManager: Proc | undefined;
  private readonly apiserverArgs: string[];

  private constructor(fields: {
    dir: string;
    url: string;
    caFile: string;
    adminToken: string;
    kubeconfigPath: string;
    etcdUrl: string;
    apiserverArgs: string[];
  }) {
    this.dir = fields.dir;
    this.url = fields.url;
    this.caFile = fields.caFile;
    this.adminToken = fields.adminToken;
    this.kubeconfigPath = fields.kubeconfigPath;
    this.etcdUrl = fields.etcdUrl;
    this.apiserverArgs = fields.apiserverArgs;
  }

  static async start(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const env = controlPlaneEnv();
    if (!existsSync(env.apiserver)) {
      throw new Error(`kube-apiserver not found at ${env.apiserver}: run 'npm run controlplane:install' (or set GATEHOUSE_KUBE_APISERVER)`);
    }
    if (opts.controllerManager !== false && !existsSync(env.controllerManager)) {
      throw new Error(`kube-controller-manager not found at ${env.controllerManager}: run 'npm run controlplane:install' (or set GATEHOUSE_KUBE_CONTROLLER_MANAGER)`);
    }
    const dir = await mkdtemp(path.join(opts.baseDir ?? os.tmpdir(), 'gatehouse-cp-'));
    const certDir = path.join(dir, 'pki');
    const bind = opts.bindAddress ?? '127.0.0.1';
    const serviceRange = opts.serviceClusterIpRange ?? '10.0.0.0/24';
    const tls = await makeServingCert(certDir, 'apiserver', ['DNS:kubernetes', 'DNS:kubernetes.default.svc',
      ...(bind === '127.0.0.1' ? [] : [`IP:${bind}`]), `IP:${firstServiceIp(serviceRange)}`]);
    await openssl(['genrsa', '-out', 'sa.key', '2048'], certDir);
    await openssl(['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], certDir);

    const adminToken = `admin-${Math.random().toString(36).slice(2)}`;
    const users: StaticUser[] = [
      { token: adminToken, user: 'admin', uid: 'admin', groups: ['system:masters'] },
      ...(opts.users ?? []),
    ];
    const tokenFile = path.join(dir, 'tokens.csv');
    await writeFile(tokenFile, users.map((u) => {
      const groups = (u.groups ?? []).join(',');
      return `${u.token},${u.user},${u.uid ?? u.user}${groups ? `,"${groups}"` : ''}`;
    }).join('\n') + '\n');

    const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const etcd = await startProcess(env.etcd, [
      '--name', 'default', '--data-dir', path.join(dir, 'etcd'),
      '--listen-client-urls', etcdUrl, '--advertise-client-urls', etcdUrl,
      '--listen-peer-urls', `http://127.0.0.1:${peerPort}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
      '--initial-cluster', `default=http://127.0.0.1:${peerPort}`,
      '--log-level', 'error',
    ], path.join(dir, 'etcd.log'));

    const args = [
      `--etcd-servers=${etcdUrl}`,
      `--bind-address=${bind}`, `--advertise-address=${bind}`, `--secure-port=${apiPort}`,
      `--tls-cert-file=${tls.cert}`, `--tls-private-key-file=${tls.key}`, `--client-ca-file=${tls.caCert}`,
      `--token-auth-file=${tokenFile}`,
      `--service-account-key-file=${path.join(certDir, 'sa.pub')}`,
      `--service-account-signing-key-file=${path.join(certDir, 'sa.key')}`,
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-cluster-ip-range=${serviceRange}`,
      '--allow-privileged=true',
      '--v=1',
    ];
    if (await needsInsecurePortFlag(env.apiserver)) args.push('--insecure-port=0');
    if (opts.authorizationWebhook) {
      const whKubeconfig = path.join(dir, 'authz-webhook.kubeconfig');
      await writeFile(whKubeconfig, webhookKubeconfig(opts.authorizationWebhook.url, opts.authorizationWebhook.caFile, opts.webhookClientCert));
      const mode = opts.authorizationWebhook.order === 'after-rbac' ? 'RBAC,Webhook' : 'Webhook,RBAC';
      args.push(`--authorization-mode=${mode}`, `--authorization-webhook-config-file=${whKubeconfig}`,
        '--authorization-webhook-version=v1',
        // Caches off, so a change in Gatehouse shows at once (README explains the production TTLs).
        '--authorization-webhook-cache-authorized-ttl=0s', '--authorization-webhook-cache-unauthorized-ttl=0s');
    } else {
      args.push('--authorization-mode=RBAC');
    }
    if (opts.webhookClientCert) {
      const admissionKubeconfig = path.join(dir, 'admission-webhook.kubeconfig');
      const admissionConfig = path.join(dir, 'admission-config.yaml');
      await writeFile(admissionKubeconfig, admissionWebhookKubeconfig(opts.webhookClientCert));
      await writeFile(admissionConfig, admissionConfiguration(admissionKubeconfig));
      args.push(`--admission-control-config-file=${admissionConfig}`);
    }
    if (opts.tokenWebhook) {
      const authnKubeconfig = path.join(dir, 'authn-webhook.kubeconfig');
      await writeFile(authnKubeconfig, webhookKubeconfig(opts.tokenWebhook.url, opts.tokenWebhook.caFile, opts.webhookClientCert));
      args.push(`--authentication-token-webhook-config-file=${authnKubeconfig}`, '--authentication-token-webhook-version=v1',
        '--authentication-token-webhook-cache-ttl=0s');
    }
    args.push(...(opts.extraArgs ?? []));

    const kubeconfigPath = path.join(dir, 'admin.kubeconfig');
    const url = `https://${bind}:${apiPort}`;
    await writeFile(kubeconfigPath, adminKubeconfig(url, tls.caCert, adminToken));
    const cp = new ControlPlane({ dir, url, caFile: tls.caCert, adminToken, kubeconfigPath, etcdUrl, apiserverArgs: args });
    cp.etcd = etcd;
    try {
      await cp.startApiserver();
      if (opts.controllerManager !== false) await cp.startControllerManager(opts.controllerManager?.serviceAccountCredentials ?? false);
    } catch (err) {
      await cp.stop();
      throw err;
    }
    return cp;
  }

  private async startApiserver(): Promise<void> {
    const env = controlPlaneEnv();
    this.apiserver = await startProcess(env.apiserver, this.apiserverArgs, path.join(this.dir, 'apiserver.log'));
    // Generous: on a loaded two-core machine (tests of several worktrees at once, load 40 and more)
    // kube-apiserver 1.20 took over 60 s to pass /readyz; a wait that ends early fails a correct
    // build. GATEHOUSE_APISERVER_READY_SECONDS changes it.
    await this.waitReady(apiserverReadyMs());
  }

  private async startControllerManager(serviceAccountCredentials: boolean): Promise<void> {
    const pki = path.join(this.dir, 'pki');
    this.controllerManager = await startProcess(controlPlaneEnv().controllerManager, [
      `--kubeconfig=${this.kubeconfigPath}`,
      `--service-account-private-key-file=${path.join(pki, 'sa.key')}`,
      // Service-account token Secrets carry this CA, which in-cluster clients verify the API server with.
      `--root-ca-file=${this.caFile}`,
      `--use-service-account-credentials=${serviceAccountCredentials}`,
      // No certificate signing (no signer key is given) and no node CIDRs (no --allocate-node-cidrs).
      '--controllers=*,-csrsigning,-nodeipam',
      '--leader-elect=false', '--bind-address=127.0.0.1', '--secure-port=0', '--port=0',
      // Short resync for quotas, so ResourceQuota status follows usage within seconds in tests.
      '--resource-quota-sync-period=10s',
    ], path.join(this.dir, 'kube-controller-manager.log'));
  }

  /** Stops the apiserver and starts it again on the same port, with the same etcd. */
  async restartApiserver(downMs = 0): Promise<void> {
    await stopProcess(this.apiserver);
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    await this.startApiserver();
  }

  /**
   * Restarts the API server with flags set or replaced (by name, `--flag=value`), e.g. to wire an
   * authorization webhook whose kubeconfig exists only once something in the cluster rendered it.
   */
  async reconfigureApiserver(flags: string[]): Promise<void> {
    const names = new Set(flags.map((f) => f.split('=')[0]));
    const kept = this.apiserverArgs.filter((a) => !names.has(a.split('=')[0]));
    this.apiserverArgs.splice(0, this.apiserverArgs.length, ...kept, ...flags);
    await this.restartApiserver();
  }

  get apiserverPid(): number | undefined {
    return this.apiserver?.child.pid;
  }

  /** The pids of etcd, the apiserver and the controller-manager, so a supervisor can record what it started. */
  pids(): number[] {
    return [this.etcd?.child.pid, this.apiserver?.child.pid, this.controllerManager?.child.pid].filter((p): p is number => typeof p === 'number');
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const ca = await readFile(this.caFile);
    let last = '';
    while (Date.now() < deadline) {
      if (this.apiserver && this.apiserver.child.exitCode !== null) {
        throw new Error(`kube-apiserver exited with ${this.apiserver.child.exitCode}; see ${path.join(this.dir, 'apiserver.log')}`);
      }
      try {
        const status = await httpsGetStatus(`${this.url}/readyz`, ca, this.adminToken);
        if (status === 200) return;
        last = `status ${status}`;
      } catch (err) {
        last = (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`kube-apiserver not ready after ${timeoutMs} ms (${last}); see ${path.join(this.dir, 'apiserver.log')}`);
  }

  /** A kubeconfig for a static-token user (the request is theirs, not an impersonation). */
  async kubeconfigFor(token: string, name: string): Promise<string> {
    const file = path.join(this.dir, `${name}.kubeconfig`);
    await writeFile(file, adminKubeconfig(this.url, this.caFile, token));
    return file;
  }

  async kubectl(args: string[], opts: KubectlOptions = {}): Promise<KubectlResult> {
    const env = controlPlaneEnv();
    const full = ['--kubeconfig', this.kubeconfigPath, ...args];
    if (opts.token) full.push(`--token=${opts.token}`);
    if (opts.as) full.push(`--as=${opts.as}`);
    for (const g of opts.asGroups ?? []) full.push(`--as-group=${g}`);
    return runCommand(env.kubectl, full, { input: opts.input, timeoutMs: opts.timeoutMs ?? 60_000 });
  }

  /** kubectl that throws with stderr on a non-zero exit. */
  async kubectlOk(args: string[], opts: KubectlOptions = {}): Promise<string> {
    const res = await this.kubectl(args, opts);
    if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${res.code}): ${res.stderr}`);
    return res.stdout;
  }

  async stop(): Promise<void> {
    await stopProcess(this.controllerManager);
    await stopProcess(this.apiserver);
    await stopProcess(this.etcd);
    if (!controlPlaneEnv().keepData) await rm(this.dir, { recursive: true, force: true });
  }
}

export function runCommand(bin: string, args: string[], opts: { input?: string | undefined; timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'], ...(opts.env ? { env: opts.env } : {}), ...(opts.cwd ? { cwd: opts.cwd } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: stderr + err.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    // A command that exits before reading its input (a refused connection) must not crash the caller with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** The kubernetes Service's address: the range's network address plus one (IPv4). */
export function firstServiceIp(cidr: string): string {
  const octets = cidr.split('/')[0]!.split('.').map(Number);
  octets[3] = (octets[3] ?? 0) + 1;
  return octets.join('.');
}

async function needsInsecurePortFlag(bin: string): Promise<boolean> {
  // --insecure-port=0 closes the unauthenticated port on <= 1.23; the flag is gone from 1.24 on.
  try {
    const { stdout } = await execFileP(bin, ['--version']);
    const m = /v1\.(\d+)/.exec(stdout);
    return m !== null && Number(m[1]) < 24;
  } catch {
    return false;
  }
}

function httpsGetStatus(url: string, ca: Buffer, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, headers: { Authorization: `Bearer ${token}` }, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

function adminKubeconfig(url: string, caFile: string, token: string): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: gatehouse-test
  cluster:
    server: ${url}
    certificate-authority: ${caFile}
users:
- name: user
  user:
    token: ${token}
contexts:
- name: gatehouse-test
  context: {cluster: gatehouse-test, user: user}
current-context: gatehouse-test
`;
}

/** The kubeconfig the apiserver uses to call an authorization webhook (README shows the same shape). */
export function webhookKubeconfig(url: string, caFile: string, clientCert?: { cert: string; key: string }): string {
  const user = clientCert ? `{client-certificate: ${clientCert.cert}, client-key: ${clientCert.key}}` : '{}';
  return `apiVersion: v1
kind: Config
clusters:
- name: gatehouse
  cluster:
    server: ${url}
    certificate-authority: ${caFile}
users:
- name: kube-apiserver
  user: ${user}
contexts:
- name: webhook
  context: {cluster: gatehouse, user: kube-apiserver}
current-context: webhook
`;
}

/** Credentials the API server presents to admission webhooks: `*` matches every webhook host. */
function admissionWebhookKubeconfig(clientCert: { cert: string; key: string }): string {
  return `apiVersion: v1
kind: Config
users:
- name: '*'
  user: {client-certificate: ${clientCert.cert}, client-key: ${clientCert.key}}
`;
}

function admissionConfiguration(kubeconfig: string): string {
  const plugin = (name: string) => `- name: ${name}
  configuration:
    apiVersion: apiserver.config.k8s.io/v1
    kind: WebhookAdmissionConfiguration
    kubeConfigFile: ${kubeconfig}
`;
  return `apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
${plugin('ValidatingAdmissionWebhook')}${plugin('MutatingAdmissionWebhook')}`;
}

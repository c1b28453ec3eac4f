// Day two (issue 31) against a real kube-apiserver:
//  1. Two operator replicas keep their own certificates (certificates.mode operator) behind a
//     loopback balancer, with lifetimes of seconds: serving certificates renew, a published new
//     CA starts signing after its overlap, the old CA leaves the bundle once both replicas serve
//     from the new one. Meanwhile one client writes Gatehouse objects (admission webhooks, caBundle
//     patched live) and another sends SubjectAccessReviews (authorization webhook): 0 failures.
//  2. The chart as Argo CD uses it: `helm template` twice gives the same bytes; applying them twice
//     changes nothing the second time, and the webhooks the operator's caBundle made callable keep
//     answering.
//  3. A real Prometheus scrapes both replicas over HTTPS: the day-two series are there; stopping
//     the replicas fires GatehouseWebhookDown (time printed).
// The API server reads its authorization-webhook kubeconfig once (kube-apiserver does not reload
// it), so, as an admin would during the overlap, the test starts it with the bundle of both CAs:
// the Secret is created in the "new CA published" phase, which is what the operator would have
// written caRotateBeforeSeconds before the old CA's end.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import https from 'node:https';
import yaml from 'js-yaml';
import { ControlPlane, freePort } from '../../src/controlplane/controlplane.js';
import { createKubeClient, type KubeClient } from '../../src/controller/kube.js';
import { parseConfig, type GatehouseConfig } from '../../src/config.js';
import { startOperator, type Operator } from '../../src/operator.js';
import { mutatingWebhookConfiguration, validatingWebhookConfiguration } from '../../src/admission/webhook-config.js';
import { issueCa, fingerprint, splitBundle } from '../../src/certs/x509.js';
import { NEXT_SINCE_ANNOTATION } from '../../src/certs/plan.js';
import { errorMessage } from '../../src/errors.js';
import { eventually, installCrds, kubeConfigFor, testLogger } from '../support/operator.js';
import { Balancer } from '../support/balancer.js';
import { chartDir, helm, parseManifests, NAMESPACE, RELEASE } from '../support/helm.js';

const NS = 'gatehouse-system';
let dir: string;
let cp: ControlPlane;
let balancer: Balancer;
let admin: KubeClient;
const operators: Operator[] = [];
let ca1: { cert: string; key: string };
let ca2: { cert: string; key: string };
let bundleFile: string;

function operatorConfig(identity: string, port: number): GatehouseConfig {
  return parseConfig({
    seedAdmins: [{ username: 'root' }],
    server: { host: '127.0.0.1', port, certFile: '/nonexistent', keyFile: '/nonexistent' },
    certificates: {
      mode: 'operator', secretName: 'gatehouse-tls', caConfigMapName: 'gatehouse-ca', commonName: 'gatehouse',
      dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'],
      validatingWebhookConfigurations: ['gatehouse'], mutatingWebhookConfigurations: ['gatehouse'],
      caValiditySeconds: 600, caRotateBeforeSeconds: 45, caOverlapSeconds: 10,
      certValiditySeconds: 12, certRenewBeforeSeconds: 6, pollSeconds: 0.5,
    },
    operator: {
      namespace: NS, identity, kubeconfig: cp.kubeconfigPath,
      leaderElection: { leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 1 },
      watch: { silenceTimeoutSeconds: 30, backoffInitialMs: 100, backoffMaxMs: 1000 },
    },
  });
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-daytwo-'));
  const now = Date.now();
  // CA 1 signs at first; CA 2 is the one the test forces the rotation to (the API server's
  // authorization-webhook kubeconfig already trusts both, as an admin sets it up in the overlap).
  // Both live caValiditySeconds (600 s): a CA with more left than that would be rotated at once
  // (lowering a lifetime takes effect now, src/certs/plan.ts), behind the test's back.
  ca1 = issueCa({ commonName: 'gatehouse-ca-1', notBefore: now - 60_000, notAfter: now + 600_000 });
  ca2 = issueCa({ commonName: 'gatehouse-ca-2', notBefore: now - 60_000, notAfter: now + 600_000 });
  bundleFile = path.join(dir, 'bundle.crt');
  await writeFile(bundleFile, ca1.cert + ca2.cert);
  balancer = await Balancer.start();
  cp = await ControlPlane.start({
    authorizationWebhook: { url: `https://127.0.0.1:${balancer.port}/authorize`, caFile: bundleFile },
    // Service-referencing webhooks (the chart's) are called at the Service's Endpoints.
    extraArgs: ['--enable-aggregator-routing=true'],
    // No kube-controller-manager: its endpoints controller would rebuild the chart Service's
    // Endpoints from its pod selector (there are no pods here) and erase the ones written below
    // for the operator running as a host process.
    controllerManager: false,
  });
  await installCrds(cp);
  admin = createKubeClient(await kubeConfigFor(cp));
  await admin.request({ method: 'POST', path: `/api/v1/namespaces/${NS}/secrets`, body: {
    apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls',
    metadata: { name: 'gatehouse-tls' },
    data: { 'ca.crt': b64(ca1.cert), 'ca.key': b64(ca1.key), 'tls.crt': '', 'tls.key': '' },
  } });
  // The webhook configurations as they were before the rotation started: CA 1 only.
  const whOpts = { urlBase: `https://127.0.0.1:${balancer.port}`, caBundle: ca1.cert, operatorNamespace: NS };
  await cp.kubectlOk(['apply', '-f', '-'], { input: [validatingWebhookConfiguration(whOpts), mutatingWebhookConfiguration(whOpts)].map((d) => JSON.stringify(d)).join('\n') });
  const ports = [await freePort(), await freePort()];
  balancer.backends = ports;
  operators.push(...await Promise.all(['op-a', 'op-b'].map((id, i) =>
    startOperator({ config: operatorConfig(id, ports[i]!), logger: testLogger(id) }))));
  await Promise.all(operators.map((o) => o.controller.synced));
});

after(async () => {
  for (const o of operators) await o.stop().catch(() => undefined);
  await balancer?.close();
  await cp?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface SecretData { data: Record<string, string>; metadata: { annotations?: Record<string, string> } }

async function secret(name = 'gatehouse-tls', ns = NS): Promise<Record<string, string>> {
  const s = await admin.request<SecretData>({ method: 'GET', path: `/api/v1/namespaces/${ns}/secrets/${name}` });
  return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

/** The certificate a replica presents, read from a TLS handshake. */
function servedBy(port: number): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost' }, () => {
      const raw = sock.getPeerCertificate().raw;
      sock.end();
      resolve(new X509Certificate(raw));
    });
    sock.on('error', reject);
  });
}

const world = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } },
  { apiVersion: 'iam.gatehouse.dev/v1alpha1', kind: 'Role', metadata: { name: 'pod-reader' }, spec: { permissions: ['pods:read'] } },
  { apiVersion: 'iam.gatehouse.dev/v1alpha1', kind: 'User', metadata: { name: 'alice' }, spec: { state: 'Active' } },
  { apiVersion: 'iam.gatehouse.dev/v1alpha1', kind: 'RoleBinding', metadata: { name: 'alice-reads-pods' }, spec: { role: 'pod-reader', subjects: [{ kind: 'User', name: 'alice' }], scope: { namespaces: ['team-a'] } } },
];

async function aliceAllowed(): Promise<boolean> {
  const sar = await admin.request<{ status?: { allowed?: boolean } }>({ method: 'POST', path: '/apis/authorization.k8s.io/v1/subjectaccessreviews', body: {
    apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
    spec: { user: 'alice', resourceAttributes: { namespace: 'team-a', verb: 'list', resource: 'pods' } },
  } });
  return sar.status?.allowed === true;
}

test('serving certificates renew and the CA rotates while clients write and ask: 0 failed requests', async () => {
  await cp.kubectlOk(['apply', '-f', '-'], { input: world.map((d) => JSON.stringify(d)).join('\n') });
  await eventually('alice to be allowed through the authorization webhook', () => aliceAllowed(), 60_000, 200);

  const counts = { writes: 0, writeFailures: 0, reviews: 0, reviewFailures: 0 };
  const failures: string[] = [];
  let stop = false;
  const writer = (async () => {
    for (let i = 0; !stop; i++) {
      try {
        await admin.request({ method: 'POST', path: '/apis/iam.gatehouse.dev/v1alpha1/roles', body: {
          apiVersion: 'iam.gatehouse.dev/v1alpha1', kind: 'Role', metadata: { name: `load-${i}` }, spec: { permissions: ['configmaps:read'] },
        } });
        counts.writes++;
      } catch (err) {
        counts.writeFailures++;
        failures.push(`write load-${i}: ${errorMessage(err)}`);
      }
    }
  })();
  const asker = (async () => {
    while (!stop) {
      try {
        if (await aliceAllowed()) counts.reviews++;
        else {
          counts.reviewFailures++;
          failures.push('SubjectAccessReview: alice not allowed (the authorization webhook was not reached)');
        }
      } catch (err) {
        counts.reviewFailures++;
        failures.push(`SubjectAccessReview: ${errorMessage(err)}`);
      }
    }
  })();

  const servingSeen = new Map<string, string>(); // serving fingerprint -> issuing CA fingerprint
  const ca1Fp = fingerprint(ca1.cert);
  const ca2Fp = fingerprint(ca2.cert);
  // Follow the Secret: the serving certificates it holds, and the CA steps.
  let promotedAt = 0;
  let droppedAt = 0;
  try {
    // Let the serving certificate renew from CA 1 at least once, then force the CA rotation: the new
    // CA goes into the Secret as the published successor, exactly as the leader's own startRotation
    // step writes it (src/certs/plan.ts).
    await eventually('a renewal from CA 1', async () => {
      const s = await secret();
      if (s['tls.crt']) servingSeen.set(fingerprint(s['tls.crt']), ca1Fp);
      return servingSeen.size >= 2;
    }, 60_000, 250);
    await admin.request({ method: 'PATCH', path: `/api/v1/namespaces/${NS}/secrets/gatehouse-tls`, contentType: 'application/merge-patch+json', body: {
      metadata: { annotations: { [NEXT_SINCE_ANNOTATION]: new Date().toISOString() } },
      data: { 'ca-next.crt': b64(ca2.cert), 'ca-next.key': b64(ca2.key) },
    } });
    await eventually('the rotation to finish and two renewals from the new CA', async () => {
      const s = await secret();
      if (s['tls.crt']) {
        const cert = new X509Certificate(s['tls.crt']);
        const issuer = [ca1, ca2].find((c) => cert.verify(new X509Certificate(c.cert).publicKey));
        servingSeen.set(fingerprint(cert), issuer ? fingerprint(issuer.cert) : 'unknown');
      }
      if (!promotedAt && s['ca.crt'] && fingerprint(s['ca.crt']) === ca2Fp) promotedAt = Date.now();
      if (promotedAt && !droppedAt && !s['ca-previous.crt']) droppedAt = Date.now();
      const fromNew = [...servingSeen.values()].filter((fp) => fp === ca2Fp).length;
      return droppedAt > 0 && fromNew >= 3;
    }, 120_000, 250);
  } finally {
    stop = true;
    await Promise.all([writer, asker]);
  }
  const fromOld = [...servingSeen.values()].filter((fp) => fp === ca1Fp).length;
  const fromNew = [...servingSeen.values()].filter((fp) => fp === ca2Fp).length;
  console.log(`# rotation: ${counts.writes} writes (${counts.writeFailures} failed), ${counts.reviews} SubjectAccessReviews (${counts.reviewFailures} failed); ` +
    `serving certificates seen: ${fromOld} from the old CA, ${fromNew} from the new; old CA dropped ${((droppedAt - promotedAt) / 1000).toFixed(1)} s after the new one started signing`);
  assert.deepEqual(failures.slice(0, 5), []);
  assert.equal(counts.writeFailures + counts.reviewFailures, 0);
  assert.ok(counts.writes > 0 && counts.reviews > 0);
  assert.ok(fromOld >= 2 && fromNew >= 3, 'a renewal from each CA');
  // The API server keeps its connections to the webhooks open, so most of the above reused
  // handshakes made earlier. Cut them: fresh handshakes must trust what is served now.
  balancer.dropConnections();
  // A connection the API server pooled and has not yet seen closed answers the first call on it
  // with EOF (Go does not retry a POST): that is the cut itself, not a trust failure, so only that
  // is tried again. A certificate the API server does not trust fails with x509 and fails the test.
  for (let attempt = 1; ; attempt++) {
    try {
      await admin.request({ method: 'POST', path: '/apis/iam.gatehouse.dev/v1alpha1/roles', body: {
        apiVersion: 'iam.gatehouse.dev/v1alpha1', kind: 'Role', metadata: { name: 'after-rotation' }, spec: { permissions: ['configmaps:read'] },
      } });
      break;
    } catch (err) {
      const cut = err instanceof Error && /: (EOF|read: connection reset by peer|write: broken pipe)$/.test(err.message);
      if (!cut || attempt >= 5) throw err;
    }
  }
  assert.ok(await aliceAllowed(), 'a SubjectAccessReview on a fresh connection after the rotation');

  // Afterwards: only CA 2 is trusted anywhere, and both replicas serve from it.
  const cm = await admin.request<{ data: Record<string, string> }>({ method: 'GET', path: `/api/v1/namespaces/${NS}/configmaps/gatehouse-ca` });
  assert.deepEqual(splitBundle(cm.data['ca.crt'] ?? '').map(fingerprint), [ca2Fp]);
  assert.ok(!cm.data['ca.key'] && !Object.values(cm.data).some((v) => v.includes('PRIVATE KEY')), 'the CA ConfigMap holds no key');
  for (const kind of ['validatingwebhookconfigurations', 'mutatingwebhookconfigurations']) {
    const wc = await admin.request<{ webhooks: Array<{ clientConfig: { caBundle: string } }> }>({ method: 'GET', path: `/apis/admissionregistration.k8s.io/v1/${kind}/gatehouse` });
    for (const w of wc.webhooks) assert.deepEqual(splitBundle(Buffer.from(w.clientConfig.caBundle, 'base64').toString()).map(fingerprint), [ca2Fp], kind);
  }
  for (const o of operators) {
    await eventually(`replica on ${o.port} to serve from the new CA`, async () => (await servedBy(o.port)).verify(new X509Certificate(ca2.cert).publicKey), 10_000);
    const ready = await fetchReadyz(o.port);
    assert.equal(ready, 200, 'a replica serving a trusted certificate is ready');
  }
});

async function fetchReadyz(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/readyz', ca: ca2.cert, servername: 'localhost' }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

test('the chart as Argo CD renders it: same bytes twice, a second apply changes nothing, the webhooks keep answering', async () => {
  const render = async (args: string[] = []): Promise<string> => {
    const res = await helm(['template', RELEASE, chartDir(), '--namespace', NAMESPACE, ...args]);
    assert.equal(res.code, 0, res.stderr);
    return res.stdout;
  };
  const first = await render();
  const second = await render();
  assert.equal(first, second, 'helm template rendered different bytes');
  // `helm template` always claims policy/v1, which this 1.20 API server does not serve: the
  // applied render leaves the PodDisruptionBudget out (the only difference). Argo CD leaves helm
  // test hooks out of a sync.
  const docs = parseManifests(await render(['--set', 'podDisruptionBudget.enabled=false'])).filter((d) => d.metadata.annotations?.['helm.sh/hook'] !== 'test');
  const manifests = docs.map((d) => JSON.stringify(d)).join('\n');
  const apply = (): Promise<string> => cp.kubectlOk(['apply', '-f', '-'], { input: manifests });
  const out1 = await apply();
  assert.match(out1, /validatingwebhookconfiguration.admissionregistration.k8s.io\/gh-gatehouse created/);
  // No nodes here: the operator runs as a host process with the rendered configuration, and the
  // Service's Endpoints point at it (at a non-loopback address of this machine; the API server
  // refuses loopback endpoints).
  const cm = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === `${RELEASE}-gatehouse-config`) as unknown as { data: Record<string, string> };
  const rendered = yaml.load(cm.data['config.yaml']!) as Record<string, any>;
  const hostIp = Object.values(os.networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
  assert.ok(hostIp, 'no non-loopback IPv4 address on this machine');
  const port = await freePort();
  const config = parseConfig({
    ...rendered,
    server: { ...rendered['server'], host: '0.0.0.0', port },
    operator: { ...rendered['operator'], identity: 'chart-op', kubeconfig: cp.kubeconfigPath,
      leaderElection: { ...rendered['operator'].leaderElection, leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 1 } },
    certificates: { ...rendered['certificates'], pollSeconds: 0.5 },
  });
  assert.equal(config.certificates.mode, 'operator');
  const op = await startOperator({ config, logger: testLogger('chart-op') });
  try {
    await cp.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify({
      apiVersion: 'v1', kind: 'Endpoints', metadata: { name: `${RELEASE}-gatehouse`, namespace: NAMESPACE },
      subsets: [{ addresses: [{ ip: hostIp }], ports: [{ name: 'https', port, protocol: 'TCP' }] }],
    }) });
    const dryRun = async (): Promise<string | undefined> => {
      const r = await cp.kubectl(['create', '--dry-run=server', '-f', '-'], { input: 'apiVersion: iam.gatehouse.dev/v1alpha1\nkind: Role\nmetadata: {name: argo-dry-run}\nspec: {permissions: ["pods:read"]}\n' });
      return r.code === 0 ? r.stdout : undefined;
    };
    await eventually('the chart webhooks to answer with the operator-made caBundle', dryRun, 60_000, 250);
    const caBundle = async (): Promise<string> => (await admin.request<{ webhooks: Array<{ clientConfig: { caBundle?: string } }> }>({
      method: 'GET', path: `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${RELEASE}-gatehouse` })).webhooks[0]!.clientConfig.caBundle ?? '';
    const before2 = await caBundle();
    assert.ok(before2.length > 100, 'the operator put its CA into the chart webhook configuration');
    // The second apply, as every Argo CD sync does: nothing changes, the operator's caBundle stays.
    const out2 = await apply();
    const lines = out2.trim().split('\n');
    assert.deepEqual(lines.filter((l) => !/ unchanged$/.test(l)), [], `second apply changed something:\n${out2}`);
    assert.equal(await caBundle(), before2);
    assert.ok(await dryRun(), 'the webhooks stopped answering after the second apply');
    // The CA ConfigMap the ServiceMonitor and the authorization webhook kubeconfig use holds the CA only.
    const caCm = await admin.request<{ data: Record<string, string> }>({ method: 'GET', path: `/api/v1/namespaces/${NAMESPACE}/configmaps/${RELEASE}-gatehouse-ca` });
    assert.equal(Buffer.from(before2, 'base64').toString(), caCm.data['ca.crt']);
    const tlsSecret = await secret(`${RELEASE}-gatehouse-tls`, NAMESPACE);
    assert.ok(tlsSecret['apiserver-client.crt'], 'the API server client pair (apiServerWebhooks) is kept too');
    // The `helm test` pod's script, run here with the admin's credentials in place of its service
    // account: it passes while the webhooks answer...
    const testPod = parseManifests(first).find((d) => d.kind === 'Pod' && d.metadata.annotations?.['helm.sh/hook'] === 'test') as unknown as { spec: { containers: Array<{ args: string[] }> } };
    const saDir = path.join(dir, 'sa');
    await mkdir(saDir, { recursive: true });
    await writeFile(path.join(saDir, 'token'), cp.adminToken);
    await writeFile(path.join(saDir, 'ca.crt'), await readFile(cp.caFile));
    const runHelmTest = (): Promise<{ code: number; out: string }> => new Promise((resolve) => {
      execFile(process.execPath, ['-e', testPod.spec.containers[0]!.args[0]!], {
        env: { ...process.env, GATEHOUSE_TEST_SA_DIR: saDir, KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: new URL(cp.url).port },
        timeout: 60_000,
      }, (err, stdout) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout }));
    });
    const passing = await runHelmTest();
    assert.equal(passing.code, 0, passing.out);
    assert.match(passing.out, /Namespace: ok/);
    assert.match(passing.out, /Role: ok/);
    // ...and fails, naming the webhook, when no replica answers.
    await op.stop();
    const failing = await eventually('helm test to fail with the operator stopped', async () => {
      const r = await runHelmTest();
      return r.code !== 0 ? r : undefined;
    }, 30_000, 500);
    assert.match(failing.out, /Role: FAIL: \d+ Internal error occurred: failed calling webhook "mutate\.iam\.gatehouse\.dev"/);
    console.log(`# helm test with no replica answering:\n${failing.out.trim().split('\n').map((l) => `#   ${l}`).join('\n')}`);
  } finally {
    await op.stop();
    // The rest of the file needs no chart webhooks (nothing answers them from here on).
    await cp.kubectlOk(['delete', 'validatingwebhookconfiguration,mutatingwebhookconfiguration', `${RELEASE}-gatehouse`]);
  }
});

test('a real Prometheus scrapes both replicas over HTTPS; stopping them fires GatehouseWebhookDown', async () => {
  const promPort = await freePort();
  const scrapeSeconds = 1;
  const forSeconds = 5;
  const rulesRes = await helm(['template', RELEASE, chartDir(), '--namespace', NAMESPACE, '--show-only', 'templates/monitoring.yaml',
    '--set', 'metrics.prometheusRule.enabled=true', '--set', `metrics.prometheusRule.webhookDownFor=${forSeconds}s`,
    '--set', 'metrics.prometheusRule.jobSelector=job="gatehouse"']);
  assert.equal(rulesRes.code, 0, rulesRes.stderr);
  const rule = parseManifests(rulesRes.stdout).find((d) => d.kind === 'PrometheusRule') as unknown as { spec: unknown };
  await writeFile(path.join(dir, 'rules.yaml'), yaml.dump(rule.spec));
  await writeFile(path.join(dir, 'ca.crt'), ca2.cert);
  await writeFile(path.join(dir, 'prometheus.yml'), yaml.dump({
    global: { scrape_interval: `${scrapeSeconds}s`, evaluation_interval: `${scrapeSeconds}s`, scrape_timeout: `${scrapeSeconds}s` },
    rule_files: [path.join(dir, 'rules.yaml')],
    scrape_configs: [{
      job_name: 'gatehouse', scheme: 'https', metrics_path: '/metrics',
      tls_config: { ca_file: path.join(dir, 'ca.crt'), server_name: 'localhost' },
      static_configs: [{ targets: operators.map((o) => `127.0.0.1:${o.port}`) }],
    }],
  }));
  const prom: ChildProcess = spawn('prometheus', [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'tsdb')}`,
    `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let promLog = '';
  prom.stderr?.on('data', (c: Buffer) => (promLog = (promLog + c.toString()).slice(-4000)));
  const api = async <T>(p: string): Promise<T> => {
    const res = await fetch(`http://127.0.0.1:${promPort}${p}`);
    return ((await res.json()) as { data: T }).data;
  };
  const query = (q: string): Promise<{ result: Array<{ metric: Record<string, string>; value: [number, string] }> }> => api(`/api/v1/query?query=${encodeURIComponent(q)}`);
  try {
    await eventually('both targets up', async () => (await query('sum(up{job="gatehouse"})')).result[0]?.value[1] === '2', 60_000, 500);
    for (const series of ['gatehouse_leader', 'gatehouse_last_sync_timestamp_seconds', 'gatehouse_reconcile_errors_total',
      'gatehouse_leader_acquisitions_total', 'gatehouse_serving_certificate_expiry_timestamp_seconds', 'gatehouse_authorization_decisions_total']) {
      const r = await eventually(`${series} scraped`, async () => ((await query(series)).result.length > 0 ? (await query(series)).result : undefined), 30_000, 500);
      console.log(`# ${series}: ${r.length} series`);
    }
    assert.equal((await query('sum(gatehouse_leader)')).result[0]?.value[1], '1', 'exactly one leader');
    const kinds = (await query('gatehouse_last_sync_timestamp_seconds')).result.map((x) => x.metric['kind']);
    for (const k of ['User', 'Role', 'Team', 'RoleBinding', 'Namespace']) assert.ok(kinds.includes(k), `last sync of ${k}`);
    const expiry = Number((await query('min(gatehouse_serving_certificate_expiry_timestamp_seconds)')).result[0]?.value[1]);
    assert.ok(expiry * 1000 > Date.now(), 'the expiry series is a future time');
    const firing = async (): Promise<boolean> => (await api<{ alerts: Array<{ labels: { alertname: string }; state: string }> }>('/api/v1/alerts'))
      .alerts.some((a) => a.labels.alertname === 'GatehouseWebhookDown' && a.state === 'firing');
    // Before the first scrapes answered, `up` was absent and the alert may have fired (for: 5 s on a
    // loaded machine); with both targets up it must resolve at the next evaluations and stay so.
    await eventually('GatehouseWebhookDown not firing while both replicas run', async () => !(await firing()), 30_000, 500);
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, scrapeSeconds * 1000));
      assert.equal(await firing(), false, 'GatehouseWebhookDown fired while both replicas run');
    }
    const stopped = Date.now();
    for (const o of operators) await o.stop();
    await eventually('GatehouseWebhookDown to fire', firing, 120_000, 200);
    const took = (Date.now() - stopped) / 1000;
    const bound = forSeconds + 2 * scrapeSeconds;
    console.log(`# GatehouseWebhookDown fired ${took.toFixed(1)} s after the replicas stopped (for ${forSeconds} s + two scrape intervals = ${bound} s; ${took <= bound ? 'within' : 'OVER'})`);
  } catch (err) {
    console.log(`# prometheus log:\n${promLog}`);
    throw err;
  } finally {
    prom.kill('SIGTERM');
    await new Promise((r) => prom.once('exit', r));
  }
});

// The chart against a real kube-apiserver (1.20 by default): `helm install` is accepted object by
// object, `helm upgrade` changes the configuration but keeps the CA, the webhooks fail closed while
// no operator answers, deleting them is the break-glass path, and `helm uninstall` removes what
// the release owns (the CRDs stay, by design). No pods run here: there are no nodes and no
// controller-manager, so the namespace is created once and never expected to go away.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import yaml from 'js-yaml';
import { ControlPlane } from '../../src/controlplane/controlplane.js';
import { chartDir, helm, NAMESPACE, RELEASE } from '../support/helm.js';

const FULLNAME = `${RELEASE}-gatehouse`;
let cp: ControlPlane;

before(async () => {
  cp = await ControlPlane.start();
});

after(async () => {
  await cp?.stop();
});

async function helmOk(args: string[]): Promise<string> {
  const res = await helm([...args, '--kubeconfig', cp.kubeconfigPath]);
  if (res.code !== 0) throw new Error(`helm ${args.join(' ')} failed (${res.code}): ${res.stderr}`);
  return res.stdout;
}

async function getJson<T>(args: string[]): Promise<T> {
  return JSON.parse(await cp.kubectlOk(['get', ...args, '-o', 'json'])) as T;
}

/** Whether an object exists; anything but found / not found fails the test. */
async function exists(args: string[]): Promise<boolean> {
  const res = await cp.kubectl(['get', ...args, '-o', 'name']);
  if (res.code === 0) return true;
  assert.match(res.stderr, /NotFound|not found/, `kubectl get ${args.join(' ')}: ${res.stderr}`);
  return false;
}

const NAMESPACED = [
  ['deployment', FULLNAME], ['service', FULLNAME], ['serviceaccount', FULLNAME], ['configmap', `${FULLNAME}-config`],
  ['configmap', `${FULLNAME}-authz-webhook`], ['secret', `${FULLNAME}-tls`], ['poddisruptionbudget', FULLNAME], ['networkpolicy', FULLNAME],
  ['role.rbac.authorization.k8s.io', `${FULLNAME}-leader-election`], ['rolebinding.rbac.authorization.k8s.io', `${FULLNAME}-leader-election`],
] as const;
const CLUSTER = [
  ['clusterrole', FULLNAME], ['clusterrolebinding', FULLNAME],
  ['validatingwebhookconfiguration', FULLNAME], ['mutatingwebhookconfiguration', FULLNAME],
] as const;
const CRDS = ['users', 'roles', 'teams', 'rolebindings'].map((p) => `${p}.iam.gatehouse.dev`);

const aRole = (name: string): string => `apiVersion: iam.gatehouse.dev/v1alpha1
kind: Role
metadata: {name: ${name}}
spec: {description: test, permissions: ["pods:read"]}
`;

interface Secret { data: Record<string, string> }
interface WebhookConfig { webhooks: Array<{ name: string; clientConfig: { caBundle: string } }> }

let installedCa = '';
let installedCert = '';

test('helm install: every object is accepted by the API server', async () => {
  // certs.mode self-signed: the chart-generated CA kept by `lookup` on upgrade, which this file
  // tests; the default (operator) is in test/integration/daytwo.test.ts.
  const out = await helmOk(['install', RELEASE, chartDir(), '--namespace', NAMESPACE, '--create-namespace', '--set', 'certs.mode=self-signed']);
  assert.match(out, /STATUS: deployed/);
  assert.match(out, /--authorization-webhook-config-file/, 'NOTES tell how to wire the authorization webhook');
  for (const [kind, name] of NAMESPACED) assert.ok(await exists([kind, name, '-n', NAMESPACE]), `${kind} ${name}`);
  for (const [kind, name] of CLUSTER) assert.ok(await exists([kind, name]), `${kind} ${name}`);
  await cp.kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', 'crd', ...CRDS]);
  // 1.20 has no policy/v1: the chart asked the cluster and chose policy/v1beta1.
  const manifest = await helmOk(['get', 'manifest', RELEASE, '--namespace', NAMESPACE]);
  const pdb = yaml.loadAll(manifest).find((d) => (d as { kind?: string } | null)?.kind === 'PodDisruptionBudget') as { apiVersion: string };
  assert.equal(pdb.apiVersion, 'policy/v1beta1');
  // The caBundle is the CA in the Secret the Deployment mounts.
  const secret = await getJson<Secret>(['secret', `${FULLNAME}-tls`, '-n', NAMESPACE]);
  installedCa = secret.data['ca.crt'] ?? '';
  installedCert = secret.data['tls.crt'] ?? '';
  assert.ok(installedCa.length > 100);
  const vwc = await getJson<WebhookConfig>(['validatingwebhookconfiguration', FULLNAME]);
  assert.ok(vwc.webhooks.every((w) => w.clientConfig.caBundle === installedCa));
});

test('with no operator answering, Gatehouse kinds and namespace writes fail closed', async () => {
  const role = await cp.kubectl(['apply', '-f', '-'], { input: aRole('blocked') });
  assert.notEqual(role.code, 0, 'a Role write went through with no webhook answering');
  assert.match(role.stderr, /failed calling webhook "(mutate|validate)\.iam\.gatehouse\.dev"/);
  const ns = await cp.kubectl(['create', 'namespace', 'team-a']);
  assert.notEqual(ns.code, 0);
  assert.match(ns.stderr, /failed calling webhook "namespaces\.validate\.iam\.gatehouse\.dev"/);
});

test('helm upgrade: changed values reach the ConfigMap and the Deployment; the CA and serving cert stay', async () => {
  await helmOk(['upgrade', RELEASE, chartDir(), '--namespace', NAMESPACE, '--set', 'certs.mode=self-signed',
    '--set', 'registration.mode=open', '--set', 'logLevel=debug', '--set', 'replicas=3', '--set', 'webhook.timeoutSeconds=8']);
  const cm = await getJson<{ data: Record<string, string> }>(['configmap', `${FULLNAME}-config`, '-n', NAMESPACE]);
  const cfg = yaml.load(cm.data['config.yaml'] ?? '') as { registration: { mode: string }; logLevel: string };
  assert.equal(cfg.registration.mode, 'open');
  assert.equal(cfg.logLevel, 'debug');
  const dep = await getJson<{ spec: { replicas: number } }>(['deployment', FULLNAME, '-n', NAMESPACE]);
  assert.equal(dep.spec.replicas, 3);
  const secret = await getJson<Secret>(['secret', `${FULLNAME}-tls`, '-n', NAMESPACE]);
  assert.equal(secret.data['ca.crt'], installedCa, 'the CA rotated on upgrade');
  assert.equal(secret.data['tls.crt'], installedCert, 'the serving certificate changed though its names did not');
  const vwc = await getJson<{ webhooks: Array<{ timeoutSeconds: number; clientConfig: { caBundle: string } }> }>(['validatingwebhookconfiguration', FULLNAME]);
  assert.ok(vwc.webhooks.every((w) => w.clientConfig.caBundle === installedCa && w.timeoutSeconds === 8));
  const history = await helmOk(['history', RELEASE, '--namespace', NAMESPACE, '-o', 'json']);
  assert.deepEqual((JSON.parse(history) as Array<{ revision: number; status: string }>).map((h) => [h.revision, h.status]),
    [[1, 'superseded'], [2, 'deployed']]);
});

test('helm upgrade with new certificate names: a new serving certificate from the same CA', async () => {
  await helmOk(['upgrade', RELEASE, chartDir(), '--namespace', NAMESPACE, '--reuse-values',
    '--set', 'certs.extraDnsNames[0]=gatehouse.example.com']);
  const secret = await getJson<Secret>(['secret', `${FULLNAME}-tls`, '-n', NAMESPACE]);
  assert.equal(secret.data['ca.crt'], installedCa, 'the CA rotated');
  assert.notEqual(secret.data['tls.crt'], installedCert, 'the serving certificate kept its old names');
  const pem = (k: string): string => Buffer.from(secret.data[k] ?? '', 'base64').toString('utf8');
  const cert = new X509Certificate(pem('tls.crt'));
  assert.ok(cert.verify(new X509Certificate(pem('ca.crt')).publicKey));
  assert.ok(cert.checkHost('gatehouse.example.com'));
  assert.ok(cert.checkHost(`${FULLNAME}.${NAMESPACE}.svc`));
});

test('break-glass: system:masters deletes the webhook configurations and writes go through again', async () => {
  await cp.kubectlOk(['delete', 'validatingwebhookconfiguration', FULLNAME]);
  await cp.kubectlOk(['delete', 'mutatingwebhookconfiguration', FULLNAME]);
  // The API server's webhook registry follows the configurations through a watch: poll.
  let last = '';
  for (let i = 0; i < 60; i++) {
    const res = await cp.kubectl(['apply', '-f', '-'], { input: aRole('repaired') });
    if (res.code === 0) {
      last = '';
      break;
    }
    last = res.stderr;
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.equal(last, '', `the Role write stayed refused: ${last}`);
  // A later upgrade puts the configurations back.
  await helmOk(['upgrade', RELEASE, chartDir(), '--namespace', NAMESPACE, '--reuse-values']);
  assert.ok(await exists(['validatingwebhookconfiguration', FULLNAME]));
  assert.ok(await exists(['mutatingwebhookconfiguration', FULLNAME]));
});

test('helm uninstall: the release objects are gone, the CRDs and Gatehouse objects stay', async () => {
  await helmOk(['uninstall', RELEASE, '--namespace', NAMESPACE]);
  for (const [kind, name] of NAMESPACED) assert.equal(await exists([kind, name, '-n', NAMESPACE]), false, `${kind} ${name} left behind`);
  for (const [kind, name] of CLUSTER) assert.equal(await exists([kind, name]), false, `${kind} ${name} left behind`);
  for (const crd of CRDS) assert.ok(await exists(['crd', crd]), `${crd} was deleted (crds.keep)`);
  assert.ok(await exists(['roles.iam.gatehouse.dev', 'repaired']));
  const list = await helmOk(['list', '--namespace', NAMESPACE, '-q']);
  assert.equal(list.trim(), '');
});

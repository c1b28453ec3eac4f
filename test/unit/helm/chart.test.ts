// The Helm chart without an API server: lint, what `helm template` renders, the values schema, and
// the links between the chart and the rest of the repository (the CRD copies, the operator's
// configuration schema). test/integration/helm.test.ts installs it into a real API server.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { CONFIG_SCHEMA, parseConfig } from '../../../src/config.js';
import { loadCrds } from '../../../src/api/crds.js';
import { chartDir, helm, renderChart, repoRoot, RELEASE, NAMESPACE, type K8sObject, type Rendered } from '../../support/helm.js';

// A rendered manifest read field by field; each assertion states the shape it expects.
type Manifest = any;

const PRODUCT_KEYS = ['logLevel', 'seedAdmins', 'defaults', 'projects', 'registration', 'authorization', 'presets', 'cluster'] as const;
const FULLNAME = `${RELEASE}-gatehouse`;

const values = yaml.load(readFileSync(path.join(chartDir(), 'values.yaml'), 'utf8')) as Record<string, unknown>;
const valuesSchema = JSON.parse(readFileSync(path.join(chartDir(), 'values.schema.json'), 'utf8')) as {
  properties: Record<string, { properties?: Record<string, unknown> }>;
};

const tmpDirs: string[] = [];
after(() => {
  for (const dir of tmpDirs) rmSync(dir, { recursive: true, force: true });
});

function tmpValues(text: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-values-'));
  tmpDirs.push(dir);
  const file = path.join(dir, 'values.yaml');
  writeFileSync(file, text);
  return file;
}

// The tests written for the chart-generated CA (certs.mode self-signed, the default before
// certs.mode operator); test/unit/helm/daytwo.test.ts covers the operator mode.
const renderSelfSigned = (args: string[] = []): Promise<Rendered> => renderChart(['--set', 'certs.mode=self-signed', ...args]);

function configOf(r: Rendered): Record<string, unknown> {
  const cm = r.get<{ data: Record<string, string> }>('ConfigMap', `${FULLNAME}-config`);
  return yaml.load(cm.data['config.yaml'] ?? '') as Record<string, unknown>;
}

interface Webhook {
  name: string;
  failurePolicy: string;
  sideEffects: string;
  admissionReviewVersions: string[];
  timeoutSeconds: number;
  clientConfig: { service: { name: string; namespace: string; path: string; port: number }; caBundle?: string };
  rules: Array<{ apiGroups: string[]; resources: string[]; operations: string[] }>;
  namespaceSelector?: { matchExpressions: Array<{ key: string; operator: string; values: string[] }> };
}

function webhooks(r: Rendered, kind: 'ValidatingWebhookConfiguration' | 'MutatingWebhookConfiguration'): Webhook[] {
  return r.get<{ webhooks: Webhook[] }>(kind, FULLNAME).webhooks;
}

function hook(list: Webhook[], name: string): Webhook {
  const found = list.find((w) => w.name === name);
  assert.ok(found, `webhook ${name} missing; have ${list.map((w) => w.name).join(', ')}`);
  return found;
}

test('helm lint --strict passes', async () => {
  const res = await helm(['lint', '--strict', chartDir()]);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
});

test("the chart's CRD copies are byte-identical to crds/ (run npm run chart:sync after changing crds/)", () => {
  const src = path.join(repoRoot(), 'crds');
  const copy = path.join(chartDir(), 'crds-src');
  const names = readdirSync(src).filter((f) => f.endsWith('.yaml')).sort();
  assert.deepEqual(readdirSync(copy).sort(), names);
  for (const f of names) {
    assert.ok(readFileSync(path.join(copy, f)).equals(readFileSync(path.join(src, f))), `crds-src/${f} differs from crds/${f}`);
  }
});

test("values.schema.json describes the product keys exactly as the operator's CONFIG_SCHEMA does", () => {
  for (const key of PRODUCT_KEYS) {
    assert.deepEqual(valuesSchema.properties[key], CONFIG_SCHEMA.properties[key], `values.schema.json ${key}`);
  }
  // server and operator: only the settings the chart leaves to values, with the same subschemas.
  const server = valuesSchema.properties['server']?.properties ?? {};
  assert.deepEqual(Object.keys(server).sort(), ['drainSeconds', 'maxBodyBytes', 'requestTimeoutMs']);
  for (const [k, v] of Object.entries(server)) {
    assert.deepEqual(v, (CONFIG_SCHEMA.properties.server.properties as Record<string, unknown>)[k]);
  }
  const operator = valuesSchema.properties['operator']?.properties ?? {};
  assert.deepEqual(operator['watch'], CONFIG_SCHEMA.properties.operator.properties.watch);
});

test('fleet (issue 30): the cluster identity ConfigMap in kube-public: the operator writes that one name, every authenticated user reads it', async () => {
  const r = await renderChart(['--set', 'cluster.name=gpu-eu-1', '--set', 'cluster.labels.region=eu']);
  const writer = r.get<Manifest>('Role', `${FULLNAME}-cluster-identity`);
  assert.equal(writer.metadata.namespace, 'kube-public');
  assert.deepEqual(writer.rules, [
    { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
    { apiGroups: [''], resources: ['configmaps'], resourceNames: ['gatehouse-cluster'], verbs: ['get', 'update', 'patch'] },
  ]);
  assert.deepEqual(r.get<Manifest>('RoleBinding', `${FULLNAME}-cluster-identity`).subjects, [{ kind: 'ServiceAccount', name: FULLNAME, namespace: NAMESPACE }]);
  const reader = r.get<Manifest>('Role', `${FULLNAME}-cluster-identity-reader`);
  assert.deepEqual(reader.rules, [{ apiGroups: [''], resources: ['configmaps'], resourceNames: ['gatehouse-cluster'], verbs: ['get'] }]);
  assert.deepEqual(r.get<Manifest>('RoleBinding', `${FULLNAME}-cluster-identity-reader`).subjects, [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:authenticated' }]);
  const cfg = parseConfig(configOf(r), 'rendered config.yaml');
  assert.deepEqual(cfg.cluster, { name: 'gpu-eu-1', labels: { region: 'eu' } });
});

test('the product keys of values.yaml are a valid operator configuration on their own (the local run reads them)', () => {
  const picked = Object.fromEntries(PRODUCT_KEYS.map((k) => [k, values[k]]));
  const cfg = parseConfig({ ...picked, server: values['server'], operator: values['operator'] }, 'values.yaml');
  assert.equal(cfg.registration.mode, 'approval');
  assert.deepEqual(cfg.seedAdmins, [{ username: 'admin', email: 'admin@example.com' }]);
  assert.deepEqual(cfg.defaults, { role: 'viewer', team: 'everyone' });
  assert.deepEqual(cfg.projects, { ownerRole: 'project-owner', publicRole: 'viewer' });
});

test('helm template renders every object the chart promises', async () => {
  const r = await renderChart();
  const kinds = r.objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
  assert.deepEqual(kinds, [
    `ClusterRole/${FULLNAME}`,
    `ClusterRole/${FULLNAME}-test`,
    `ClusterRole/${FULLNAME}-webhook-ca`,
    `ClusterRoleBinding/${FULLNAME}`,
    `ClusterRoleBinding/${FULLNAME}-test`,
    `ClusterRoleBinding/${FULLNAME}-webhook-ca`,
    `ConfigMap/${FULLNAME}-authz-webhook`,
    `ConfigMap/${FULLNAME}-config`,
    'CustomResourceDefinition/accessrequests.iam.gatehouse.dev',
    'CustomResourceDefinition/rolebindings.iam.gatehouse.dev',
    'CustomResourceDefinition/roles.iam.gatehouse.dev',
    'CustomResourceDefinition/teams.iam.gatehouse.dev',
    'CustomResourceDefinition/users.iam.gatehouse.dev',
    `Deployment/${FULLNAME}`,
    `MutatingWebhookConfiguration/${FULLNAME}`,
    `NetworkPolicy/${FULLNAME}`,
    `Pod/${FULLNAME}-test`,
    `PodDisruptionBudget/${FULLNAME}`,
    `ResourceQuota/${FULLNAME}-critical-pods`,
    `Role/${FULLNAME}-certificates`,
    `Role/${FULLNAME}-cluster-identity`,
    `Role/${FULLNAME}-cluster-identity-reader`,
    `Role/${FULLNAME}-leader-election`,
    `RoleBinding/${FULLNAME}-certificates`,
    `RoleBinding/${FULLNAME}-cluster-identity`,
    `RoleBinding/${FULLNAME}-cluster-identity-reader`,
    `RoleBinding/${FULLNAME}-leader-election`,
    `Service/${FULLNAME}`,
    `ServiceAccount/${FULLNAME}`,
    `ServiceAccount/${FULLNAME}-test`,
    `ValidatingWebhookConfiguration/${FULLNAME}`,
  ]);
  for (const o of r.objects) {
    assert.equal(o.metadata.labels?.['app.kubernetes.io/name'], 'gatehouse', `${o.kind} label name`);
    assert.equal(o.metadata.labels?.['app.kubernetes.io/instance'], RELEASE, `${o.kind} label instance`);
    assert.equal(o.metadata.labels?.['app.kubernetes.io/managed-by'], 'Helm', `${o.kind} label managed-by`);
  }
});

test('the rendered config file passes parseConfig and carries values.yaml unchanged', async () => {
  const r = await renderSelfSigned();
  const raw = configOf(r);
  assert.deepEqual(Object.keys(raw).sort(), Object.keys(CONFIG_SCHEMA.properties).sort());
  const cfg = parseConfig(raw, 'rendered config.yaml');
  for (const key of PRODUCT_KEYS) assert.deepEqual(raw[key], values[key], key);
  assert.equal(cfg.operator.namespace, NAMESPACE);
  assert.equal(cfg.operator.serviceAccountUsername, `system:serviceaccount:${NAMESPACE}:${FULLNAME}`);
  assert.equal(cfg.server.port, 8443);
  // The lease the operator takes is the one the leader-election Role lets it update.
  const role = r.get<{ rules: Array<{ resourceNames?: string[] }> }>('Role', `${FULLNAME}-leader-election`);
  assert.deepEqual(role.rules.flatMap((x) => x.resourceNames ?? []), [cfg.operator.leaderElection.leaseName]);
  // The certificate paths in the config are where the Deployment mounts the Secret.
  const dep = r.get<{ spec: { template: { spec: { containers: Array<{ volumeMounts: Array<{ name: string; mountPath: string }> }> } } } }>('Deployment');
  const tlsMount = dep.spec.template.spec.containers[0]?.volumeMounts.find((m) => m.name === 'tls');
  assert.equal(path.dirname(cfg.server.certFile), tlsMount?.mountPath);
  // The pod gets the serving pair and the CA's certificate (it checks the API server's client
  // certificate against it), never the CA's private key.
  const tlsVolume = (dep as Manifest).spec.template.spec.volumes.find((v: { name: string }) => v.name === 'tls');
  assert.deepEqual(tlsVolume.secret.items.map((i: { path: string }) => path.join(tlsMount?.mountPath ?? '', i.path)).sort(),
    [cfg.server.certFile, cfg.server.keyFile, cfg.server.clientCAFile].sort());
});

test('values flow into the config file: a changed product key and operator setting', async () => {
  const r = await renderChart(['--set', 'registration.mode=open', '--set', 'presets.runai=true',
    '--set', 'operator.leaderElection.leaseDurationSeconds=30', '--set', 'logLevel=debug']);
  const cfg = parseConfig(configOf(r));
  assert.equal(cfg.registration.mode, 'open');
  assert.equal(cfg.presets.runai, true);
  assert.equal(cfg.operator.leaderElection.leaseDurationSeconds, 30);
  assert.equal(cfg.logLevel, 'debug');
});

test('the Deployment: 2 replicas, HTTPS probes, requests, non-root, read-only root, spread across nodes', async () => {
  const r = await renderChart();
  const dep = r.get<Manifest>('Deployment');
  assert.equal(dep.spec.replicas, 2);
  const pod = dep.spec.template.spec;
  const c = pod.containers[0];
  assert.deepEqual(c.args, ['--config', '/etc/gatehouse/config.yaml']);
  assert.deepEqual(c.env.map((e: { name: string; valueFrom: { fieldRef: { fieldPath: string } } }) => [e.name, e.valueFrom.fieldRef.fieldPath]),
    [['POD_NAME', 'metadata.name'], ['POD_NAMESPACE', 'metadata.namespace']]);
  assert.deepEqual(c.readinessProbe.httpGet, { path: '/readyz', port: 'https', scheme: 'HTTPS' });
  assert.deepEqual(c.livenessProbe.httpGet, { path: '/healthz', port: 'https', scheme: 'HTTPS' });
  assert.equal(c.ports[0].containerPort, 8443);
  assert.ok(c.resources.requests.cpu && c.resources.requests.memory);
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  assert.equal(c.securityContext.allowPrivilegeEscalation, false);
  assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
  assert.equal(pod.topologySpreadConstraints[0].topologyKey, 'kubernetes.io/hostname');
  assert.deepEqual(pod.topologySpreadConstraints[0].labelSelector.matchLabels, dep.spec.selector.matchLabels);
  assert.equal(dep.spec.strategy.rollingUpdate.maxUnavailable, 0);
  // A config change rolls the pods.
  const other = await renderChart(['--set', 'registration.mode=closed']);
  assert.notEqual(other.get<Manifest>('Deployment').spec.template.metadata.annotations['checksum/config'],
    dep.spec.template.metadata.annotations['checksum/config']);
});

test('the Service maps 443 to the https port', async () => {
  const svc = (await renderChart()).get<{ spec: { ports: Array<{ port: number; targetPort: string }> } }>('Service');
  assert.deepEqual(svc.spec.ports.map((p) => [p.port, p.targetPort]), [[443, 'https']]);
});

test('the ClusterRole is least privilege: reads, status, Users and Roles it keeps, events; no delete, no secrets', async () => {
  const r = await renderChart();
  const rules = r.get<{ rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }> }>('ClusterRole', FULLNAME).rules;
  const granted = new Set<string>();
  for (const rule of rules) {
    for (const g of rule.apiGroups) for (const res of rule.resources) for (const v of rule.verbs) granted.add(`${g}/${res}:${v}`);
  }
  const expected = new Set<string>();
  for (const res of ['users', 'roles', 'teams', 'rolebindings']) {
    for (const v of ['get', 'list', 'watch']) expected.add(`iam.gatehouse.dev/${res}:${v}`);
    for (const v of ['get', 'update', 'patch']) expected.add(`iam.gatehouse.dev/${res}/status:${v}`);
  }
  for (const res of ['users', 'roles']) for (const v of ['create', 'update', 'patch']) expected.add(`iam.gatehouse.dev/${res}:${v}`);
  for (const v of ['get', 'list', 'watch']) expected.add(`/namespaces:${v}`);
  // Access requests (issue 23): read them, write their status, make and end the grant's RoleBinding.
  for (const v of ['get', 'list', 'watch']) expected.add(`iam.gatehouse.dev/accessrequests:${v}`);
  for (const v of ['get', 'update', 'patch']) expected.add(`iam.gatehouse.dev/accessrequests/status:${v}`);
  for (const v of ['create', 'delete']) expected.add(`iam.gatehouse.dev/rolebindings:${v}`);
  for (const g of ['', 'events.k8s.io']) for (const v of ['create', 'patch']) expected.add(`${g}/events:${v}`);
  // Team budgets (docs/quotas.md): the operator writes one ResourceQuota per namespace under a budget.
  for (const v of ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']) expected.add(`/resourcequotas:${v}`);
  assert.deepEqual([...granted].sort(), [...expected].sort());
  const leases = r.get<{ metadata: { namespace: string }; rules: Array<{ resources: string[]; verbs: string[] }> }>('Role', `${FULLNAME}-leader-election`);
  assert.equal(leases.metadata.namespace, NAMESPACE);
  assert.ok(leases.rules.every((x) => x.resources.every((res) => res === 'leases')));
});

test('authorization.mode rbac: no authorization-webhook kubeconfig; the operator may write RBAC objects and holds bind and escalate', async () => {
  const webhook = await renderChart();
  const rbac = await renderChart(['--set', 'authorization.mode=rbac']);
  const names = (r: typeof rbac) => r.all('ConfigMap').map((o) => o.metadata.name);
  assert.ok(names(webhook).includes(`${FULLNAME}-authz-webhook`));
  assert.ok(!names(rbac).includes(`${FULLNAME}-authz-webhook`));
  const grants = (r: typeof rbac): Set<string> => {
    const out = new Set<string>();
    for (const rule of r.get<{ rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }> }>('ClusterRole', FULLNAME).rules) {
      for (const g of rule.apiGroups) for (const res of rule.resources) for (const v of rule.verbs) out.add(`${g}/${res}:${v}`);
    }
    return out;
  };
  for (const want of ['rbac.authorization.k8s.io/clusterroles:escalate', 'rbac.authorization.k8s.io/clusterroles:bind', 'rbac.authorization.k8s.io/rolebindings:delete', 'rbac.authorization.k8s.io/clusterrolebindings:patch']) {
    assert.ok(grants(rbac).has(want), want);
    assert.ok(!grants(webhook).has(want), `webhook mode: no ${want}`);
  }
  const cfg = yaml.load(rbac.get<{ data: Record<string, string> }>('ConfigMap', `${FULLNAME}-config`).data['config.yaml'] ?? '') as { authorization: { mode: string } };
  assert.equal(cfg.authorization.mode, 'rbac');
  const both = await renderChart(['--set', 'authorization.mode=both']);
  assert.ok(names(both).includes(`${FULLNAME}-authz-webhook`), 'mode both keeps the webhook kubeconfig');
});

test('credentials on: the proxy Service and port, Secrets only in the release namespace, impersonation of users and groups only, the CA for invitations', async () => {
  const off = await renderSelfSigned();
  assert.equal(off.all('Service').length, 1, 'no proxy Service while credentials are off');
  const r = await renderSelfSigned(['--set', 'credentials.enabled=true', '--set', 'credentials.proxy.externalURL=https://gatehouse.example.com']);
  const cfg = parseConfig(configOf(r));
  assert.equal(cfg.credentials.enabled, true);
  assert.deepEqual({ ...cfg.credentials.proxy }, { enabled: true, host: '0.0.0.0', port: 8444, externalURL: 'https://gatehouse.example.com', caFile: '/etc/gatehouse/tls/ca.crt' });
  const proxySvc = r.get<Manifest>('Service', `${FULLNAME}-proxy`);
  assert.deepEqual(proxySvc.spec.ports.map((p: { port: number; targetPort: string }) => [p.port, p.targetPort]), [[443, 'proxy']]);
  const c = r.get<Manifest>('Deployment').spec.template.spec.containers[0];
  assert.deepEqual(c.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]), [['https', 8443], ['proxy', 8444]]);
  const tlsVolume = r.get<Manifest>('Deployment').spec.template.spec.volumes.find((v: { name: string }) => v.name === 'tls');
  assert.deepEqual(tlsVolume.secret.items.map((i: { key: string }) => i.key), ['tls.crt', 'tls.key', 'ca.crt'], 'the CA certificate, never its key');
  const impersonate = r.get<Manifest>('ClusterRole', FULLNAME).rules.filter((x: { verbs: string[] }) => x.verbs.includes('impersonate'));
  assert.deepEqual(impersonate, [{ apiGroups: [''], resources: ['users', 'groups'], verbs: ['impersonate'] }]);
  const role = r.get<Manifest>('Role', `${FULLNAME}-credentials`);
  assert.equal(role.metadata.namespace, NAMESPACE);
  assert.deepEqual(role.rules.flatMap((x: { resources: string[] }) => x.resources).sort(), ['configmaps', 'configmaps', 'secrets']);
  const cert = new X509Certificate(Buffer.from(r.get<Manifest>('Secret', `${FULLNAME}-tls`).data['tls.crt'], 'base64'));
  assert.match(cert.subjectAltName ?? '', new RegExp(`DNS:${FULLNAME}-proxy\\.${NAMESPACE}\\.svc`));
});

test('webhooks: Gatehouse kinds fail closed, namespaces mutate open and validate closed, release namespace excluded', async () => {
  const r = await renderSelfSigned();
  const validating = webhooks(r, 'ValidatingWebhookConfiguration');
  const mutating = webhooks(r, 'MutatingWebhookConfiguration');
  const expect: Array<[Webhook[], string, string, string]> = [
    [validating, 'validate.iam.gatehouse.dev', 'Fail', '/validate'],
    [validating, 'namespaces.validate.iam.gatehouse.dev', 'Fail', '/validate'],
    [mutating, 'mutate.iam.gatehouse.dev', 'Fail', '/mutate'],
    [mutating, 'namespaces.mutate.iam.gatehouse.dev', 'Ignore', '/mutate'],
    [mutating, 'reviews.mutate.iam.gatehouse.dev', 'Ignore', '/mutate'],
  ];
  const secret = r.get<{ data: Record<string, string> }>('Secret', `${FULLNAME}-tls`);
  for (const [list, name, policy, p] of expect) {
    const w = hook(list, name);
    assert.equal(w.failurePolicy, policy, `${name} failurePolicy`);
    assert.equal(w.clientConfig.service.path, p);
    assert.equal(w.clientConfig.service.name, FULLNAME);
    assert.equal(w.clientConfig.service.namespace, NAMESPACE);
    assert.equal(w.clientConfig.service.port, 443);
    assert.equal(w.clientConfig.caBundle, secret.data['ca.crt'], `${name} caBundle is the generated CA`);
    assert.equal(w.sideEffects, 'None');
    assert.deepEqual(w.admissionReviewVersions, ['v1', 'v1beta1']);
    assert.equal(w.timeoutSeconds, 5);
    if (name.startsWith('namespaces.')) {
      // Validation sees status and finalize too (they carry label changes); mutation only creates.
      assert.deepEqual(w.rules.map((x) => x.resources), [name.startsWith('namespaces.validate') ? ['namespaces', 'namespaces/status', 'namespaces/finalize'] : ['namespaces']]);
      assert.deepEqual(w.namespaceSelector?.matchExpressions, [
        { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', NAMESPACE] },
      ]);
    } else if (name.startsWith('reviews.')) {
      assert.deepEqual(w.rules.map((x) => x.resources), [['subjectaccessreviews', 'localsubjectaccessreviews']]);
    } else {
      assert.deepEqual(w.rules.map((x) => x.resources), [['users', 'roles', 'teams', 'rolebindings', 'accessrequests']]);
    }
  }
  const off = await renderSelfSigned(['--set', 'webhook.namespaces.enabled=false']);
  assert.deepEqual(webhooks(off, 'ValidatingWebhookConfiguration').map((w) => w.name), ['validate.iam.gatehouse.dev']);
});

test('self-signed certificates: the serving cert is signed by the CA in the caBundle and names the Service', async () => {
  const r = await renderSelfSigned(['--set', 'service.clusterIP=10.96.0.200']);
  const secret = r.get<{ type: string; data: Record<string, string> }>('Secret', `${FULLNAME}-tls`);
  assert.equal(secret.type, 'kubernetes.io/tls');
  const pem = (k: string): string => Buffer.from(secret.data[k] ?? '', 'base64').toString('utf8');
  const ca = new X509Certificate(pem('ca.crt'));
  const cert = new X509Certificate(pem('tls.crt'));
  assert.equal(ca.ca, true);
  assert.ok(cert.verify(ca.publicKey), 'serving cert signed by the CA');
  assert.ok(cert.checkHost(`${FULLNAME}.${NAMESPACE}.svc`));
  assert.ok(cert.checkIP('10.96.0.200'));
  assert.match(pem('tls.key'), /PRIVATE KEY/);
  // The authorization webhook kubeconfig uses the fixed ClusterIP and embeds the same CA.
  const kc = yaml.load(r.get<{ data: Record<string, string> }>('ConfigMap', `${FULLNAME}-authz-webhook`).data['kubeconfig.yaml'] ?? '') as {
    clusters: Array<{ cluster: { server: string; 'certificate-authority-data': string } }>;
  };
  assert.equal(kc.clusters[0]?.cluster.server, 'https://10.96.0.200:443/authorize');
  assert.equal(kc.clusters[0]?.cluster['certificate-authority-data'], secret.data['ca.crt']);
});

test('cert-manager mode: a Certificate, the inject-ca-from annotation, no generated Secret', async () => {
  const r = await renderChart(['--set', 'certs.mode=cert-manager', '--api-versions', 'cert-manager.io/v1']);
  assert.equal(r.all('Secret').length, 0);
  const cert = r.get<{ spec: { secretName: string; dnsNames: string[]; issuerRef: { name: string } } }>('Certificate', FULLNAME);
  assert.equal(cert.spec.secretName, `${FULLNAME}-tls`);
  assert.ok(cert.spec.dnsNames.includes(`${FULLNAME}.${NAMESPACE}.svc`));
  assert.equal(r.get('Issuer').metadata.name, cert.spec.issuerRef.name);
  for (const kind of ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration'] as const) {
    assert.equal(r.get(kind).metadata.annotations?.['cert-manager.io/inject-ca-from'], `${NAMESPACE}/${FULLNAME}`);
    assert.ok(webhooks(r, kind).every((w) => w.clientConfig.caBundle === undefined));
  }
  const withIssuer = await renderChart(['--set', 'certs.mode=cert-manager', '--api-versions', 'cert-manager.io/v1',
    '--set', 'certs.certManager.issuerRef.name=corp-ca', '--set', 'certs.certManager.issuerRef.kind=ClusterIssuer']);
  assert.equal(withIssuer.all('Issuer').length, 0);
  assert.deepEqual(withIssuer.get<{ spec: { issuerRef: unknown } }>('Certificate').spec.issuerRef, { name: 'corp-ca', kind: 'ClusterIssuer' });
});

test('provided mode: your Secret and CA', async () => {
  const caBundle = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');
  const r = await renderChart(['--set', 'certs.mode=provided', '--set', 'certs.provided.secretName=my-tls', '--set', `certs.provided.caBundle=${caBundle}`]);
  assert.equal(r.all('Secret').length, 0);
  assert.ok(webhooks(r, 'ValidatingWebhookConfiguration').every((w) => w.clientConfig.caBundle === caBundle));
  const dep = r.get<Manifest>('Deployment');
  assert.equal(dep.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'tls').secret.secretName, 'my-tls');
});

test('bad values are refused with a message that names the field', async () => {
  const cases: Array<{ why: string; values: string; messages: RegExp[] }> = [
    {
      why: 'schema: an unknown registration mode and a replica count that is not a number',
      values: 'registration: {mode: sometimes}\nreplicas: "two"\n',
      messages: [/values don't meet the specifications of the schema/, /\/registration\/mode.*'approval', 'open', 'closed'/, /\/replicas.*got string, want integer/],
    },
    { why: 'schema: a misspelt top-level key', values: 'regstration: {mode: open}\n', messages: [/additional properties 'regstration' not allowed/] },
    { why: 'schema: a seed admin without a username', values: 'seedAdmins: [{email: a@example.com}]\n', messages: [/\/seedAdmins\/0.*username/] },
    { why: 'schema: failurePolicy', values: 'webhook: {gatehouseKinds: {failurePolicy: Sometimes}}\n', messages: [/\/webhook\/gatehouseKinds\/failurePolicy/] },
    { why: 'schema: certificate mode', values: 'certs: {mode: letsencrypt}\n', messages: [/\/certs\/mode.*'self-signed', 'cert-manager', 'provided'/] },
    {
      why: 'template: renew deadline not below the lease duration',
      values: 'operator: {leaderElection: {leaseDurationSeconds: 10, renewDeadlineSeconds: 10}}\n',
      messages: [/renewDeadlineSeconds \(10\) must be less than leaseDurationSeconds \(10\)/],
    },
    { why: 'template: client certificates without a CA', values: 'webhook: {clientCertificates: {enabled: true}}\n', messages: [/webhook.clientCertificates.enabled needs webhook.clientCertificates.caBundle/] },
    { why: 'template: provided mode without a Secret', values: 'certs: {mode: provided}\n', messages: [/certs.mode provided needs certs.provided.secretName/] },
    { why: 'template: cert-manager not installed', values: 'certs: {mode: cert-manager}\n', messages: [/cert-manager.io\/v1 is not served by this cluster/] },
  ];
  for (const c of cases) {
    const res = await helm(['template', RELEASE, chartDir(), '-f', tmpValues(c.values)]);
    assert.notEqual(res.code, 0, `${c.why}: accepted`);
    for (const m of c.messages) assert.match(res.stderr, m, c.why);
  }
});

test('CRDs: rendered from the repository copies, kept on uninstall, and switched off by crds.install=false', async () => {
  const r = await renderChart();
  const byName = new Map(loadCrds().map((c) => [c.metadata.name, c]));
  const rendered = r.all('CustomResourceDefinition') as Array<K8sObject & { spec: unknown }>;
  assert.equal(rendered.length, byName.size);
  for (const crd of rendered) {
    assert.deepEqual(crd.spec, byName.get(crd.metadata.name)?.spec, `${crd.metadata.name} spec`);
    assert.equal(crd.metadata.annotations?.['helm.sh/resource-policy'], 'keep');
  }
  const off = await renderChart(['--set', 'crds.install=false']);
  assert.equal(off.all('CustomResourceDefinition').length, 0);
  const notKept = await renderChart(['--set', 'crds.keep=false']);
  assert.ok(notKept.all('CustomResourceDefinition').every((c) => c.metadata.annotations?.['helm.sh/resource-policy'] === undefined));
});

test('the PodDisruptionBudget uses policy/v1 when served, and is left out with one replica', async () => {
  const r = await renderChart(['--api-versions', 'policy/v1/PodDisruptionBudget']);
  const pdb = r.get<{ apiVersion: string; spec: { minAvailable: number } }>('PodDisruptionBudget');
  assert.equal(pdb.apiVersion, 'policy/v1');
  assert.equal(pdb.spec.minAvailable, 1);
  const single = await renderChart(['--set', 'replicas=1']);
  assert.equal(single.all('PodDisruptionBudget').length, 0);
});

test('starter objects: off by default; when on, post-install hooks for the names values.yaml refers to', async () => {
  assert.equal((await renderChart()).all('Role').filter((o) => o.apiVersion.startsWith('iam.gatehouse.dev')).length, 0);
  const r = await renderChart(['--set', 'starterObjects.enabled=true']);
  const starter = r.objects.filter((o) => o.apiVersion === 'iam.gatehouse.dev/v1alpha1');
  assert.deepEqual(starter.map((o) => `${o.kind}/${o.metadata.name}`).sort(), ['Role/project-owner', 'Role/viewer', 'Team/everyone']);
  for (const o of starter) assert.equal(o.metadata.annotations?.['helm.sh/hook'], 'post-install');
  const names = new Set(starter.map((o) => o.metadata.name));
  for (const ref of [values['defaults'], values['projects']] as Array<Record<string, string>>) {
    for (const name of Object.values(ref)) assert.ok(names.has(name), `values.yaml refers to ${name}, which the starter objects create`);
  }
});

test('security (issue 16): a NetworkPolicy opens only the HTTPS port, to webhookFrom when set', async () => {
  const open = (await renderChart()).get<Manifest>('NetworkPolicy', FULLNAME);
  assert.deepEqual(open.spec.policyTypes, ['Ingress']);
  assert.deepEqual(open.spec.podSelector.matchLabels, { 'app.kubernetes.io/name': 'gatehouse', 'app.kubernetes.io/instance': RELEASE });
  assert.deepEqual(open.spec.ingress, [{ ports: [{ port: 'https', protocol: 'TCP' }] }]);
  const file = tmpValues('networkPolicy: {webhookFrom: [{ipBlock: {cidr: 10.0.0.0/24}}]}\n');
  const limited = (await renderChart(['-f', file])).get<Manifest>('NetworkPolicy', FULLNAME);
  assert.deepEqual(limited.spec.ingress[0].from, [{ ipBlock: { cidr: '10.0.0.0/24' } }]);
  const off = await renderChart(['--set', 'networkPolicy.enabled=false']);
  assert.equal(off.all('NetworkPolicy').length, 0);
});

test('security (issue 16): webhook.clientCertificates makes the operator check client certificates and the API server present one', async () => {
  const plain = await renderSelfSigned();
  // Issue 19: by default /authorize and /authenticate ask for the client certificate the chart
  // makes (signed by its CA) and the kubeconfig the API server is given presents it.
  const byDefault = configOf(plain)['server'] as Record<string, unknown>;
  assert.equal(byDefault['clientCAFile'], '/etc/gatehouse/tls/ca.crt');
  assert.deepEqual(byDefault['clientCertificateRoutes'], ['authorize', 'authenticate']);
  const caPem = Buffer.from(plain.get<Manifest>('Secret', `${FULLNAME}-tls`).data['ca.crt'], 'base64');
  const client = plain.get<Manifest>('Secret', `${FULLNAME}-apiserver-client`);
  const clientCert = new X509Certificate(Buffer.from(client.data['tls.crt'], 'base64'));
  assert.ok(clientCert.verify(new X509Certificate(caPem).publicKey), 'the client certificate is signed by the chart CA');
  const plainKubeconfig = yaml.load(plain.get<{ data: Record<string, string> }>('ConfigMap', `${FULLNAME}-authz-webhook`).data['kubeconfig.yaml']!) as Manifest;
  assert.deepEqual(plainKubeconfig.users[0].user, { 'client-certificate': '/etc/kubernetes/pki/gatehouse-webhook-client.crt', 'client-key': '/etc/kubernetes/pki/gatehouse-webhook-client.key' });
  // With credentials, the token webhook's kubeconfig presents the same pair, and audiences flow.
  const cred = await renderSelfSigned(['--set', 'credentials.enabled=true', '--set', 'credentials.audiences[0]=https://vault.example.com']);
  const authn = yaml.load(cred.get<{ data: Record<string, string> }>('ConfigMap', `${FULLNAME}-authz-webhook`).data['authn-kubeconfig.yaml']!) as Manifest;
  assert.match(authn.clusters[0].cluster.server, /\/authenticate$/);
  assert.deepEqual(authn.users[0].user, plainKubeconfig.users[0].user);
  assert.deepEqual(parseConfig(configOf(cred)).credentials.audiences, ['https://vault.example.com']);
  const optedOut = await renderSelfSigned(['--set', 'webhook.clientCertificates.apiServerWebhooks=false']);
  assert.equal((configOf(optedOut)['server'] as Record<string, unknown>)['clientCAFile'], undefined, 'opted out: no check');
  assert.equal(optedOut.all('Secret').filter((x) => x.metadata.name === `${FULLNAME}-apiserver-client`).length, 0);
  const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  const r = await renderSelfSigned(['--set', 'webhook.clientCertificates.enabled=true', '--set', `webhook.clientCertificates.caBundle=${Buffer.from(pem).toString('base64')}`]);
  const server = configOf(r)['server'] as Record<string, unknown>;
  assert.equal(server['clientCAFile'], '/etc/gatehouse/client-ca/ca.crt');
  assert.equal(parseConfig(configOf(r)).server.clientCAFile, '/etc/gatehouse/client-ca/ca.crt');
  assert.equal(r.get<{ data: Record<string, string> }>('ConfigMap', `${FULLNAME}-client-ca`).data['ca.crt'], pem);
  const pod = r.get<Manifest>('Deployment').spec.template.spec;
  assert.equal(pod.volumes.find((v: { name: string }) => v.name === 'client-ca').configMap.name, `${FULLNAME}-client-ca`);
  assert.equal(pod.containers[0].volumeMounts.find((m: { name: string }) => m.name === 'client-ca').mountPath, '/etc/gatehouse/client-ca');
  const kubeconfig = yaml.load(r.get<{ data: Record<string, string> }>('ConfigMap', `${FULLNAME}-authz-webhook`).data['kubeconfig.yaml']!) as Manifest;
  assert.deepEqual(kubeconfig.users[0].user, { 'client-certificate': '/etc/kubernetes/pki/gatehouse-webhook-client.crt', 'client-key': '/etc/kubernetes/pki/gatehouse-webhook-client.key' });
});

test('security (issue 16): the starter roles are least privilege: viewer names what it reads, project-owner names Secrets and exec for its own namespace', async () => {
  const r = await renderChart(['--set', 'starterObjects.enabled=true']);
  const viewer = r.objects.find((o) => o.kind === 'Role' && o.metadata.name === 'viewer') as Manifest;
  assert.ok(!viewer.spec.permissions.some((p: string) => p.startsWith('*') || p.startsWith('secrets')), JSON.stringify(viewer.spec.permissions));
  const owner = r.objects.find((o) => o.kind === 'Role' && o.metadata.name === 'project-owner') as Manifest;
  assert.ok(owner.spec.permissions.includes('secrets:*') && owner.spec.permissions.includes('pods/exec:*'));
});

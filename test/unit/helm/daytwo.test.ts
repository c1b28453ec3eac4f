// The chart's day-two parts without an API server: the alert rules through Prometheus' own tools
// (`promtool check rules`, and `promtool test rules` with a firing and a quiet case for every
// alert), the dashboard and the rules naming only series the operator exports, the new settings
// rendering where they should, and the schema refusing a misspelt key for each of them.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import { createWebhookMetrics } from '../../../src/webhook/metrics.js';
import { parseConfig } from '../../../src/config.js';
import { chartDir, helm, renderChart, RELEASE, NAMESPACE } from '../../support/helm.js';

const execFileP = promisify(execFile);
const FULLNAME = `${RELEASE}-gatehouse`;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Manifest = any;

const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-daytwo-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Rule { alert: string; expr: string; for?: string; labels: Record<string, string>; annotations: Record<string, string> }

async function renderedRules(args: string[] = []): Promise<{ groups: Array<{ name: string; rules: Rule[] }> }> {
  const r = await renderChart(['--set', 'metrics.prometheusRule.enabled=true', ...args]);
  return r.get<{ spec: { groups: Array<{ name: string; rules: Rule[] }> } }>('PrometheusRule', FULLNAME).spec;
}

const ALERTS = ['GatehouseWebhookDown', 'GatehouseWebhookLatencyHigh', 'GatehouseAuthorizationErrors', 'GatehouseAdmissionErrors',
  'GatehouseHTTPServerErrors', 'GatehouseNoAuthorizationDecisions', 'GatehouseIndexNotSynced', 'GatehouseWatchRestarts',
  'GatehouseCertificateExpiring', 'GatehouseNoLeader'];

test('the alerts: each named in the issue is there, with a severity and a runbook link to its own section of docs/runbook.md', async () => {
  const spec = await renderedRules();
  const rules = spec.groups.flatMap((g) => g.rules);
  assert.deepEqual(rules.map((r) => r.alert).sort(), [...ALERTS].sort());
  const runbook = readFileSync(path.join(chartDir(), '..', '..', 'docs', 'runbook.md'), 'utf8');
  for (const r of rules) {
    assert.match(r.labels['severity'] ?? '', /^(critical|warning)$/, r.alert);
    assert.equal(r.annotations['runbook_url'], `https://github.com/gatehouse-dev/gatehouse/blob/main/docs/runbook.md#${r.alert.toLowerCase()}`);
    assert.ok(runbook.includes(`## ${r.alert}\n`), `docs/runbook.md has no section for ${r.alert}`);
  }
  // In authorization mode rbac there is no webhook to expect decisions from.
  const rbac = (await renderedRules(['--set', 'authorization.mode=rbac'])).groups.flatMap((g) => g.rules).map((r) => r.alert);
  assert.ok(!rbac.includes('GatehouseNoAuthorizationDecisions'));
});

test('promtool check rules passes on the rendered rules', async () => {
  const file = path.join(dir, 'rules.yaml');
  writeFileSync(file, yaml.dump(await renderedRules()));
  const { stdout } = await execFileP('promtool', ['check', 'rules', file]);
  assert.match(stdout, /SUCCESS: 10 rules found/);
});

// promtool unit tests: for each alert a case where it fires and one where it stays quiet. Series
// carry the ServiceMonitor's job label; `x` repeats, `a+bxN` counts up.
const J = `job="${FULLNAME}",instance="a"`;
interface Case { alert: string; at: string; series: Array<[string, string]>; fires: Array<Record<string, string>> }
const CASES: Case[] = [
  { alert: 'GatehouseWebhookDown', at: '5m', series: [[`up{${J}}`, '0x10']], fires: [{}] },
  { alert: 'GatehouseWebhookDown', at: '5m', series: [[`up{${J}}`, '1x10']], fires: [] },
  { alert: 'GatehouseWebhookDown', at: '5m', series: [[`up{${J}}`, '0x10'], [`up{job="${FULLNAME}",instance="b"}`, '1x10']], fires: [] },
  { alert: 'GatehouseWebhookLatencyHigh', at: '25m', series: [
    [`gatehouse_webhook_duration_seconds_bucket{${J},webhook="authorize",le="1"}`, '0+0x30'],
    [`gatehouse_webhook_duration_seconds_bucket{${J},webhook="authorize",le="5"}`, '0+10x30'],
    [`gatehouse_webhook_duration_seconds_bucket{${J},webhook="authorize",le="+Inf"}`, '0+10x30']], fires: [{ webhook: 'authorize' }] },
  { alert: 'GatehouseWebhookLatencyHigh', at: '25m', series: [
    [`gatehouse_webhook_duration_seconds_bucket{${J},webhook="authorize",le="0.001"}`, '0+10x30'],
    [`gatehouse_webhook_duration_seconds_bucket{${J},webhook="authorize",le="5"}`, '0+10x30'],
    [`gatehouse_webhook_duration_seconds_bucket{${J},webhook="authorize",le="+Inf"}`, '0+10x30']], fires: [] },
  { alert: 'GatehouseAuthorizationErrors', at: '25m', series: [
    [`gatehouse_authorization_decisions_total{${J},verdict="error",code="evaluationError"}`, '0+5x30'],
    [`gatehouse_authorization_decisions_total{${J},verdict="allow",code="granted"}`, '0+5x30']], fires: [{}] },
  { alert: 'GatehouseAuthorizationErrors', at: '25m', series: [
    [`gatehouse_authorization_decisions_total{${J},verdict="error",code="evaluationError"}`, '0+0x30'],
    [`gatehouse_authorization_decisions_total{${J},verdict="allow",code="granted"}`, '0+5x30']], fires: [] },
  { alert: 'GatehouseAdmissionErrors', at: '25m', series: [
    [`gatehouse_admission_reviews_total{${J},webhook="validate",operation="CREATE",result="error"}`, '0+5x30'],
    [`gatehouse_admission_reviews_total{${J},webhook="validate",operation="CREATE",result="allowed"}`, '0+5x30']], fires: [{}] },
  { alert: 'GatehouseAdmissionErrors', at: '25m', series: [
    [`gatehouse_admission_reviews_total{${J},webhook="validate",operation="CREATE",result="denied"}`, '0+5x30'],
    [`gatehouse_admission_reviews_total{${J},webhook="validate",operation="CREATE",result="allowed"}`, '0+5x30']], fires: [] },
  { alert: 'GatehouseHTTPServerErrors', at: '25m', series: [
    [`gatehouse_http_responses_total{${J},route="validate",status="500"}`, '0+5x30'],
    [`gatehouse_http_responses_total{${J},route="validate",status="200"}`, '0+5x30']], fires: [{}] },
  { alert: 'GatehouseHTTPServerErrors', at: '25m', series: [
    [`gatehouse_http_responses_total{${J},route="validate",status="400"}`, '0+5x30'],
    [`gatehouse_http_responses_total{${J},route="validate",status="200"}`, '0+5x30']], fires: [] },
  { alert: 'GatehouseNoAuthorizationDecisions', at: '30m', series: [[`up{${J}}`, '1x40']], fires: [{}] },
  { alert: 'GatehouseNoAuthorizationDecisions', at: '30m', series: [[`up{${J}}`, '1x40'],
    [`gatehouse_authorization_decisions_total{${J},verdict="allow",code="granted"}`, '0+10x40']], fires: [] },
  { alert: 'GatehouseIndexNotSynced', at: '25m', series: [[`gatehouse_index_generation{${J}}`, '0x30'],
    [`gatehouse_last_sync_timestamp_seconds{${J},kind="User"}`, '0+60x30']], fires: [{ instance: 'a' }] },
  // Synced once, then nothing for 15 minutes (the threshold) and 10 more (the `for`).
  { alert: 'GatehouseIndexNotSynced', at: '30m', series: [[`gatehouse_index_generation{${J}}`, '7x40'],
    [`gatehouse_last_sync_timestamp_seconds{${J},kind="User"}`, '0x40']], fires: [{ instance: 'a', kind: 'User' }] },
  { alert: 'GatehouseIndexNotSynced', at: '25m', series: [[`gatehouse_index_generation{${J}}`, '7x30'],
    [`gatehouse_last_sync_timestamp_seconds{${J},kind="User"}`, '0+60x30']], fires: [] },
  { alert: 'GatehouseWatchRestarts', at: '35m', series: [[`gatehouse_watch_restarts_total{${J}}`, '0+5x40']], fires: [{ instance: 'a' }] },
  { alert: 'GatehouseWatchRestarts', at: '35m', series: [[`gatehouse_watch_restarts_total{${J}}`, '0+0x40']], fires: [] },
  { alert: 'GatehouseCertificateExpiring', at: '20m', series: [[`gatehouse_serving_certificate_expiry_timestamp_seconds{${J}}`, '86400x30']], fires: [{ instance: 'a' }] },
  { alert: 'GatehouseCertificateExpiring', at: '20m', series: [[`gatehouse_serving_certificate_expiry_timestamp_seconds{${J}}`, '8640000x30']], fires: [] },
  { alert: 'GatehouseNoLeader', at: '10m', series: [[`up{${J}}`, '1x20'], [`gatehouse_leader{${J}}`, '0x20']], fires: [{}] },
  { alert: 'GatehouseNoLeader', at: '10m', series: [[`up{${J}}`, '1x20'], [`gatehouse_leader{${J}}`, '1x20']], fires: [] },
];

test('promtool test rules: every alert fires in its case and stays quiet in the other', async () => {
  const spec = await renderedRules();
  const rules = spec.groups.flatMap((g) => g.rules);
  const rulesFile = path.join(dir, 'rules.yaml');
  writeFileSync(rulesFile, yaml.dump(spec));
  for (const alert of ALERTS) {
    assert.ok(CASES.some((c) => c.alert === alert && c.fires.length > 0), `${alert}: no firing case`);
    assert.ok(CASES.some((c) => c.alert === alert && c.fires.length === 0), `${alert}: no quiet case`);
  }
  const expand = (text: string, labels: Record<string, string>): string => text.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, k: string) => labels[k] ?? '');
  const tests = CASES.map((c) => {
    const rule = rules.find((r) => r.alert === c.alert)!;
    return {
      interval: '1m',
      input_series: c.series.map(([series, values]) => ({ series, values })),
      alert_rule_test: [{
        eval_time: c.at,
        alertname: c.alert,
        exp_alerts: c.fires.map((labels) => ({
          exp_labels: { ...labels, ...rule.labels },
          exp_annotations: Object.fromEntries(Object.entries(rule.annotations).map(([k, v]) => [k, expand(v, labels)])),
        })),
      }],
    };
  });
  const testFile = path.join(dir, 'rules.test.yaml');
  writeFileSync(testFile, yaml.dump({ rule_files: [rulesFile], evaluation_interval: '1m', tests }));
  const res = await execFileP('promtool', ['test', 'rules', testFile]).catch((err: { stdout?: string; stderr?: string }) => err);
  assert.match(res.stdout ?? '', /SUCCESS/, `${res.stdout ?? ''}${res.stderr ?? ''}`);
});

/** Every series name the operator can export (from its registry's TYPE lines). */
async function exportedNames(): Promise<Set<string>> {
  const m = createWebhookMetrics({
    processMetrics: true,
    indexGeneration: () => 1,
    watchRestarts: () => 0,
    rbac: () => ({ nextExpiry: null, overdueGrants: 0, foreignObjects: 0 }),
    controller: () => ({ leader: true, reconcileErrors: 0, leaderAcquisitions: 1, lastSyncByKind: { User: 1 } }),
  });
  const names = new Set<string>();
  for (const line of (await m.render()).split('\n')) {
    const t = /^# TYPE (\S+) (\S+)/.exec(line);
    if (!t) continue;
    names.add(t[1]!);
    if (t[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(t[1]! + s);
    if (t[2] === 'summary') for (const s of ['_sum', '_count']) names.add(t[1]! + s);
  }
  return names;
}

test('the dashboard is valid JSON in a ConfigMap with the sidecar label, and names only series the operator exports; so do the alerts', async () => {
  assert.equal((await renderChart()).all('ConfigMap').filter((c) => c.metadata.name.endsWith('-dashboard')).length, 0, 'off by default');
  const r = await renderChart(['--set', 'metrics.dashboard.enabled=true']);
  const cm = r.get<{ metadata: { labels: Record<string, string> }; data: Record<string, string> }>('ConfigMap', `${FULLNAME}-dashboard`);
  assert.equal(cm.metadata.labels['grafana_dashboard'], '1');
  const dashboard = JSON.parse(cm.data['gatehouse.json']!) as { panels: Array<{ targets: Array<{ expr: string }> }> };
  const exported = await exportedNames();
  const used = (expr: string): string[] => [...expr.matchAll(/\b(gatehouse_[a-z0-9_]+)/g)].map((x) => x[1]!);
  const dashNames = dashboard.panels.flatMap((p) => p.targets.flatMap((t) => used(t.expr)));
  assert.ok(dashNames.length > 10);
  for (const n of dashNames) assert.ok(exported.has(n), `the dashboard uses ${n}, which the operator does not export`);
  const rules = (await renderedRules()).groups.flatMap((g) => g.rules);
  for (const rule of rules) for (const n of used(rule.expr)) assert.ok(exported.has(n), `${rule.alert} uses ${n}, which the operator does not export`);
  for (const n of ['gatehouse_leader', 'gatehouse_last_sync_timestamp_seconds', 'gatehouse_reconcile_errors_total', 'gatehouse_leader_acquisitions_total',
    'gatehouse_serving_certificate_expiry_timestamp_seconds']) assert.ok(exported.has(n), `day-two series ${n}`);
});

test('ServiceMonitor and PodMonitor scrape the https port with the CA from the CA-only ConfigMap; the NetworkPolicy lets the monitoring namespace in', async () => {
  const r = await renderChart(['--set', 'metrics.serviceMonitor.enabled=true', '--set', 'metrics.podMonitor.enabled=true',
    '--set', 'networkPolicy.webhookFrom[0].ipBlock.cidr=10.0.0.0/24']);
  const sm = r.get<Manifest>('ServiceMonitor', FULLNAME);
  const pm = r.get<Manifest>('PodMonitor', FULLNAME);
  for (const ep of [sm.spec.endpoints[0], pm.spec.podMetricsEndpoints[0]]) {
    assert.equal(ep.port, 'https');
    assert.equal(ep.scheme, 'https');
    assert.deepEqual(ep.tlsConfig.ca, { configMap: { name: `${FULLNAME}-ca`, key: 'ca.crt' } });
    assert.equal(ep.tlsConfig.serverName, `${FULLNAME}.${NAMESPACE}.svc`);
  }
  // The ServiceMonitor's selector matches the webhook Service, whose https port it names.
  const svc = r.get<Manifest>('Service', FULLNAME);
  for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) assert.equal(svc.metadata.labels[k], v);
  const np = r.get<Manifest>('NetworkPolicy', FULLNAME);
  assert.deepEqual(np.spec.ingress[1], { ports: [{ port: 'https', protocol: 'TCP' }], from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }] });
  // The CA-only ConfigMap exists in every mode the chart knows the CA in; never a key.
  const ss = await renderChart(['--set', 'certs.mode=self-signed']);
  const ca = ss.get<Manifest>('ConfigMap', `${FULLNAME}-ca`);
  assert.deepEqual(Object.keys(ca.data), ['ca.crt']);
  assert.ok(!ca.data['ca.crt'].includes('PRIVATE KEY'));
  const cm = await helm(['template', RELEASE, chartDir(), '--namespace', NAMESPACE, '--set', 'certs.mode=cert-manager', '--api-versions', 'cert-manager.io/v1', '--set', 'metrics.serviceMonitor.enabled=true']);
  assert.notEqual(cm.code, 0);
  assert.match(cm.stderr, /metrics.caConfigMap/);
});

test('the NetworkPolicy opens the console port when the console is on (it did not before issue 31)', async () => {
  const r = await renderChart(['--set', 'console.enabled=true']);
  const np = r.get<Manifest>('NetworkPolicy', FULLNAME);
  assert.ok(np.spec.ingress.some((rule: Manifest) => rule.ports.some((p: Manifest) => p.port === 'console')), JSON.stringify(np.spec.ingress));
  const off = (await renderChart()).get<Manifest>('NetworkPolicy', FULLNAME);
  assert.ok(!off.spec.ingress.some((rule: Manifest) => rule.ports.some((p: Manifest) => p.port === 'console')));
});

test('certs.mode operator: no key material in the render, RBAC by name, config the operator accepts', async () => {
  const r = await renderChart();
  assert.equal(r.all('Secret').length, 0, 'the chart renders no Secret: the operator makes it');
  const vwc = r.get<Manifest>('ValidatingWebhookConfiguration', FULLNAME);
  assert.ok(vwc.webhooks.every((w: Manifest) => w.clientConfig.caBundle === undefined));
  const cfg = parseConfig(yaml.load(r.get<Manifest>('ConfigMap', `${FULLNAME}-config`).data['config.yaml']));
  assert.equal(cfg.certificates.mode, 'operator');
  assert.equal(cfg.certificates.secretName, `${FULLNAME}-tls`);
  assert.equal(cfg.certificates.caConfigMapName, `${FULLNAME}-ca`);
  assert.deepEqual(cfg.certificates.validatingWebhookConfigurations, [FULLNAME]);
  assert.ok(cfg.certificates.dnsNames.includes(`${FULLNAME}.${NAMESPACE}.svc`));
  assert.equal(cfg.certificates.certRenewBeforeSeconds, 30 * 86400);
  const webhookCa = r.get<Manifest>('ClusterRole', `${FULLNAME}-webhook-ca`);
  assert.deepEqual(webhookCa.rules, [{ apiGroups: ['admissionregistration.k8s.io'], resources: ['validatingwebhookconfigurations', 'mutatingwebhookconfigurations'], resourceNames: [FULLNAME], verbs: ['get', 'patch'] }]);
  const role = r.get<Manifest>('Role', `${FULLNAME}-certificates`);
  assert.deepEqual(role.rules.map((x: Manifest) => [x.resources.join(','), (x.resourceNames ?? []).join(','), x.verbs.join(',')]), [
    ['secrets,configmaps', '', 'create'], ['secrets', `${FULLNAME}-tls`, 'get,update'], ['configmaps', `${FULLNAME}-ca`, 'get,patch']]);
  // The pod mounts the public CA only, never the Secret.
  const pod = r.get<Manifest>('Deployment').spec.template.spec;
  assert.ok(!pod.volumes.some((v: Manifest) => v.secret), JSON.stringify(pod.volumes));
  assert.deepEqual(pod.volumes.find((v: Manifest) => v.name === 'ca').configMap, { name: `${FULLNAME}-ca`, optional: true });
  const kubeconfig = yaml.load(r.get<Manifest>('ConfigMap', `${FULLNAME}-authz-webhook`).data['kubeconfig.yaml']) as Manifest;
  assert.equal(kubeconfig.clusters[0].cluster['certificate-authority'], '/etc/kubernetes/gatehouse/ca.crt');
  const bad = await helm(['template', RELEASE, chartDir(), '--set', 'certs.operator.caOverlapDays=400']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /caOverlapDays must be less than caRotateBeforeDays|caOverlapDays/);
});

test('chart settings: extraEnv, extraArgs, extraVolumes and mounts, probe overrides, serving port, hostNetwork, webhook objectSelector and annotations', async () => {
  const values = path.join(dir, 'settings.yaml');
  writeFileSync(values, yaml.dump({
    extraEnv: [{ name: 'NODE_OPTIONS', value: '--max-old-space-size=400' }],
    extraArgs: ['--log-level', 'debug'],
    extraVolumes: [{ name: 'extra', emptyDir: {} }],
    extraVolumeMounts: [{ name: 'extra', mountPath: '/extra' }],
    readinessProbe: { periodSeconds: 11 },
    livenessProbe: { failureThreshold: 9 },
    service: { targetPort: 9443 },
    hostNetwork: true,
    webhook: { objectSelector: { matchLabels: { team: 'ml' } }, annotations: { 'example.com/owner': 'platform' } },
  }));
  const r = await renderChart(['-f', values]);
  const pod = r.get<Manifest>('Deployment').spec.template.spec;
  const c = pod.containers[0];
  assert.deepEqual(c.env.at(-1), { name: 'NODE_OPTIONS', value: '--max-old-space-size=400' });
  assert.deepEqual(c.args, ['--config', '/etc/gatehouse/config.yaml', '--log-level', 'debug']);
  assert.deepEqual(pod.volumes.at(-1), { name: 'extra', emptyDir: {} });
  assert.deepEqual(c.volumeMounts.at(-1), { name: 'extra', mountPath: '/extra' });
  assert.equal(c.readinessProbe.periodSeconds, 11);
  assert.deepEqual(c.readinessProbe.httpGet, { path: '/readyz', port: 'https', scheme: 'HTTPS' });
  assert.equal(c.livenessProbe.failureThreshold, 9);
  assert.equal(c.ports[0].containerPort, 9443);
  assert.equal(pod.hostNetwork, true);
  assert.equal(pod.dnsPolicy, 'ClusterFirstWithHostNet');
  const cfg = parseConfig(yaml.load(r.get<Manifest>('ConfigMap', `${FULLNAME}-config`).data['config.yaml']));
  assert.equal(cfg.server.port, 9443);
  const vwc = r.get<Manifest>('ValidatingWebhookConfiguration', FULLNAME);
  const mwc = r.get<Manifest>('MutatingWebhookConfiguration', FULLNAME);
  assert.equal(vwc.metadata.annotations['example.com/owner'], 'platform');
  assert.equal(mwc.metadata.annotations['example.com/owner'], 'platform');
  for (const w of [...vwc.webhooks, ...mwc.webhooks]) {
    // The namespace webhooks take the selector; Gatehouse's own kinds and reviews never do.
    if (w.name.startsWith('namespaces.')) assert.deepEqual(w.objectSelector, { matchLabels: { team: 'ml' } }, w.name);
    else assert.equal(w.objectSelector, undefined, w.name);
  }
});

test('priorityClassName defaults to system-cluster-critical, with the ResourceQuota it needs outside kube-system', async () => {
  const r = await renderChart();
  assert.equal(r.get<Manifest>('Deployment').spec.template.spec.priorityClassName, 'system-cluster-critical');
  const q = r.get<Manifest>('ResourceQuota', `${FULLNAME}-critical-pods`);
  assert.deepEqual(q.spec.scopeSelector, { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In', values: ['system-cluster-critical'] }] });
  assert.equal(q.spec.hard.pods, '4');
  const inKubeSystem = await helm(['template', RELEASE, chartDir(), '--namespace', 'kube-system']);
  assert.ok(!inKubeSystem.stdout.includes('kind: ResourceQuota'));
  const none = await renderChart(['--set', 'priorityClassName=']);
  assert.equal(none.get<Manifest>('Deployment').spec.template.spec.priorityClassName, undefined);
  assert.equal(none.all('ResourceQuota').length, 0);
});

test('helm test: a hook pod dry-runs a Namespace and a Role with only the rights to create them', async () => {
  const r = await renderChart();
  const pod = r.get<Manifest>('Pod', `${FULLNAME}-test`);
  assert.equal(pod.metadata.annotations['helm.sh/hook'], 'test');
  assert.deepEqual(pod.spec.containers[0].command, ['node', '-e']);
  const script = pod.spec.containers[0].args[0] as string;
  assert.match(script, /\/api\/v1\/namespaces\?dryRun=All/);
  assert.match(script, /\/apis\/iam\.gatehouse\.dev\/v1alpha1\/roles\?dryRun=All/);
  assert.match(script, /denied the request/);
  // The script runs as Node's CommonJS (node -e): it at least parses.
  await execFileP(process.execPath, ['--check', '-e', script]).catch(async () => {
    const f = path.join(dir, 'helm-test.cjs');
    writeFileSync(f, script);
    await execFileP(process.execPath, ['--check', f]);
  });
  const role = r.get<Manifest>('ClusterRole', `${FULLNAME}-test`);
  assert.deepEqual(role.rules.map((x: Manifest) => `${x.apiGroups[0]}/${x.resources[0]}:${x.verbs.join(',')}`), ['/namespaces:create', 'iam.gatehouse.dev/roles:create']);
  assert.equal((await renderChart(['--set', 'tests.enabled=false'])).all('Pod').length, 0);
});

test('Artifact Hub metadata: home, sources, maintainers, icon, license', () => {
  const chart = yaml.load(readFileSync(path.join(chartDir(), 'Chart.yaml'), 'utf8')) as Manifest;
  assert.match(chart.home, /^https:\/\//);
  assert.ok(chart.sources.length > 0 && chart.maintainers.length > 0);
  assert.match(chart.icon, /^https:\/\//);
  assert.equal(chart.annotations['artifacthub.io/license'], 'Apache-2.0');
  assert.ok(Array.isArray(yaml.load(chart.annotations['artifacthub.io/links'])));
});

test('the schema refuses a misspelt key in every new setting', async () => {
  const misspelt: Array<[string, string]> = [
    ['extraEnvs[0].name=X', 'extraEnvs'], ['extraArg[0]=x', 'extraArg'], ['extraVolume[0].name=x', 'extraVolume'],
    ['extraVolumeMount[0].name=x', 'extraVolumeMount'], ['readinesProbe.periodSeconds=1', 'readinesProbe'],
    ['livenesProbe.periodSeconds=1', 'livenesProbe'], ['hostNetwrok=true', 'hostNetwrok'], ['service.targetPrt=1', 'targetPrt'],
    ['priorityClassQuota.podz=1', 'podz'], ['priorityClassQuotas.pods=1', 'priorityClassQuotas'],
    ['webhook.objectSelectr.matchLabels.a=b', 'objectSelectr'], ['webhook.objectSelector.matchLabel.a=b', 'matchLabel'],
    ['webhook.annotation.a=b', 'annotation'], ['networkPolicy.monitoringFrm[0].a=b', 'monitoringFrm'],
    ['certs.operator.caValidityDay=1', 'caValidityDay'], ['certs.operatr.caValidityDays=1', 'operatr'],
    ['metrics.caConfigMp=x', 'caConfigMp'], ['metrics.serviceMonitor.intervall=1m', 'intervall'], ['metrics.podMonitor.enable=true', 'enable'],
    ['metrics.prometheusRule.webhookDownFr=1m', 'webhookDownFr'], ['metrics.dashbaord.enabled=true', 'dashbaord'],
    ['metrics.dashboard.label.a=b', 'label'], ['tests.enabeld=true', 'enabeld'], ['metric.serviceMonitor.enabled=true', 'metric'],
  ];
  for (const [set, key] of misspelt) {
    const res = await helm(['template', RELEASE, chartDir(), '--set', set]);
    assert.notEqual(res.code, 0, `--set ${set} was accepted`);
    assert.match(res.stderr, new RegExp(`additional properties? '${key}' not allowed`), `--set ${set}: ${res.stderr}`);
  }
  // And bad values of the right keys.
  for (const set of ['certs.mode=operatr', 'metrics.prometheusRule.webhookDownFor=soon', 'service.targetPort=0', 'hostNetwork=yes']) {
    const res = await helm(['template', RELEASE, chartDir(), '--set', set]);
    assert.notEqual(res.code, 0, `--set ${set} was accepted`);
  }
});

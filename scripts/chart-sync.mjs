// Regenerates what the chart derives from the repository (run `npm run chart:sync` after changing
// crds/ or src/config.ts): helm/gatehouse/crds-src/ as byte copies of crds/, and
// helm/gatehouse/values.schema.json, whose operator-configuration keys are taken from CONFIG_SCHEMA
// so that values.yaml and the operator's config file cannot disagree. This file is the source of
// values.schema.json; test/unit/helm/chart.test.ts checks both outputs are current.
import { copyFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_SCHEMA } from '../dist/src/config.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const chart = path.join(root, 'helm', 'gatehouse');
const crdSrc = path.join(chart, 'crds-src');
for (const f of readdirSync(crdSrc)) rmSync(path.join(crdSrc, f));
for (const f of readdirSync(path.join(root, 'crds')).filter((n) => n.endsWith('.yaml'))) {
  copyFileSync(path.join(root, 'crds', f), path.join(crdSrc, f));
}
const P = structuredClone(CONFIG_SCHEMA.properties);
const pick = (obj, keys) => Object.fromEntries(keys.map((k) => [k, obj[k]]));
const str = (description, extra = {}) => ({ type: 'string', description, ...extra });
const bool = (description) => ({ type: 'boolean', description });
const obj = (description, properties, extra = {}) => ({ type: 'object', description, additionalProperties: false, properties, ...extra });
const duration = { type: 'string', pattern: '^[0-9]+(ms|s|m|h|d)$' };
const monitorProps = () => ({
  enabled: bool('Render it (needs the prometheus-operator CRDs).'),
  interval: duration,
  scrapeTimeout: duration,
  labels: { type: 'object', additionalProperties: { type: 'string' }, description: 'Extra labels (e.g. the one your Prometheus selects on).' },
});
const k8sName = { type: 'string', minLength: 1, maxLength: 253, pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$' };
const le = structuredClone(P.operator.properties.leaderElection);
delete le.properties.leaseName;
const schema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'Gatehouse chart values',
  description: 'The keys logLevel, seedAdmins, defaults, projects, teams, review, requests, registration, authorization, presets, cluster and credentials (less the proxy listener and CA file, which the chart sets) have exactly the shape of the operator configuration file (src/config.ts CONFIG_SCHEMA); server, console and operator are the parts of it the chart does not set itself.',
  type: 'object',
  additionalProperties: false,
  properties: {
    ...pick(P, ['logLevel', 'seedAdmins', 'defaults', 'projects', 'teams', 'review', 'requests', 'registration', 'authorization', 'presets', 'cluster']),
    credentials: { ...P.credentials, properties: {
      ...pick(P.credentials.properties, ['enabled', 'invitationTTLSeconds', 'rateLimits', 'audiences']),
      proxy: { ...P.credentials.properties.proxy, properties: {
        ...pick(P.credentials.properties.proxy.properties, ['enabled']),
        externalURL: { type: 'string', pattern: '^(https://.*)?$', description: 'How users reach the proxy; printed in invitations. Empty: not known.' },
      } },
    } },
    proxyService: obj("The credential proxy's Service.", {
      type: { enum: ['ClusterIP', 'NodePort', 'LoadBalancer'] },
      port: { type: 'integer', minimum: 1, maximum: 65535 },
      annotations: { type: 'object', additionalProperties: { type: 'string' } },
      loadBalancerSourceRanges: { type: 'array', items: { type: 'string', minLength: 1 } },
    }),
    server: { ...P.server, properties: pick(P.server.properties, ['maxBodyBytes', 'requestTimeoutMs', 'drainSeconds']) },
    console: { ...P.console, properties: pick(P.console.properties, ['enabled', 'port', 'allowedHosts']) },
    operator: { ...P.operator, properties: { leaderElection: le, ...pick(P.operator.properties, ['watch', 'autoRegistrationPerSecond']) } },
    starterObjects: obj('Roles viewer and project-owner and Team everyone, created once by a post-install hook.', { enabled: bool('Create the starter objects (install with --wait).') }),
    image: obj('The operator image.', {
      repository: str('Image repository.', { minLength: 1 }),
      tag: str('Tag; empty means the chart appVersion.'),
      digest: { type: 'string', description: 'sha256:... digest; wins over tag.', pattern: '^(sha256:[a-f0-9]{64})?$' },
      pullPolicy: { enum: ['Always', 'IfNotPresent', 'Never'] },
    }, { required: ['repository'] }),
    imagePullSecrets: { type: 'array', items: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1 } } } },
    nameOverride: { type: 'string', maxLength: 63 },
    fullnameOverride: { type: 'string', maxLength: 63 },
    replicas: { type: 'integer', minimum: 1, maximum: 20, description: 'Operator replicas; every replica serves the webhooks.' },
    resources: { type: 'object', description: 'Container resources (requests and limits).', properties: { requests: { type: 'object' }, limits: { type: 'object' } }, additionalProperties: false },
    nodeSelector: { type: 'object', additionalProperties: { type: 'string' } },
    tolerations: { type: 'array', items: { type: 'object' } },
    affinity: { type: 'object' },
    topologySpreadConstraints: { type: 'array', items: { type: 'object', required: ['maxSkew', 'topologyKey', 'whenUnsatisfiable'] } },
    priorityClassName: { type: 'string', description: 'Default system-cluster-critical: the operator is behind fail-closed webhooks. Empty: none.' },
    priorityClassQuota: obj('A ResourceQuota admitting system-*-critical pods into the release namespace (needed outside kube-system).', {
      enabled: bool('Render the ResourceQuota when priorityClassName is system-cluster-critical or system-node-critical outside kube-system.'),
      pods: { type: 'integer', minimum: 0, description: 'Pods the quota allows; 0: twice the replicas.' },
    }),
    extraEnv: { type: 'array', items: { type: 'object', required: ['name'] }, description: 'More environment variables (EnvVar objects) for the operator container.' },
    extraArgs: { type: 'array', items: { type: 'string' }, description: 'More command-line arguments for the operator.' },
    extraVolumes: { type: 'array', items: { type: 'object', required: ['name'] }, description: 'More pod volumes.' },
    extraVolumeMounts: { type: 'array', items: { type: 'object', required: ['name', 'mountPath'] }, description: 'More container volume mounts.' },
    readinessProbe: { type: 'object', description: "Merged over the chart's readiness probe." },
    livenessProbe: { type: 'object', description: "Merged over the chart's liveness probe." },
    hostNetwork: { type: 'boolean', description: "Run in the node's network namespace (managed control planes that reach only some node ports)." },
    podAnnotations: { type: 'object', additionalProperties: { type: 'string' } },
    podLabels: { type: 'object', additionalProperties: { type: 'string' } },
    podDisruptionBudget: obj('PodDisruptionBudget (rendered only with more than one replica).', {
      enabled: bool('Render the PodDisruptionBudget.'),
      minAvailable: { type: ['integer', 'string'], description: 'A number or a percentage.', pattern: '^[0-9]+%$', minimum: 0 },
    }),
    serviceAccount: obj("The operator's ServiceAccount.", {
      name: { type: 'string', description: 'Name; empty means the release full name.', maxLength: 253 },
      annotations: { type: 'object', additionalProperties: { type: 'string' } },
    }),
    service: obj('The webhook Service.', {
      port: { type: 'integer', minimum: 1, maximum: 65535 },
      clusterIP: { type: 'string', description: 'Fixed ClusterIP (also an IP SAN of the serving certificate).', pattern: '^([0-9.]+|[0-9a-fA-F:]+)?$' },
      targetPort: { type: 'integer', minimum: 1, maximum: 65535, description: 'The port the operator listens on in the pod (webhooks, probes, /metrics).' },
    }),
    webhook: obj('Admission webhook configurations.', {
      timeoutSeconds: { type: 'integer', minimum: 1, maximum: 30 },
      annotations: { type: 'object', additionalProperties: { type: 'string' }, description: 'Extra annotations on both webhook configurations.' },
      objectSelector: { type: 'object', description: "Label selector on the namespace webhooks' objects; never applied to Gatehouse's own kinds.", properties: { matchLabels: { type: 'object', additionalProperties: { type: 'string' } }, matchExpressions: { type: 'array', items: { type: 'object' } } }, additionalProperties: false },
      gatehouseKinds: obj("Users, Roles, Teams and RoleBindings.", { failurePolicy: { enum: ['Fail', 'Ignore'] } }),
      namespaces: obj('Namespaces (owner label on create; label changes checked).', {
        enabled: bool('Register the namespace webhooks.'),
        mutationFailurePolicy: { enum: ['Fail', 'Ignore'] },
        validationFailurePolicy: { enum: ['Fail', 'Ignore'] },
        exclude: { type: 'array', items: k8sName, description: 'Namespaces never sent to the webhooks (the release namespace always is excluded).' },
      }),
      clientCertificates: obj('Answer webhook calls only from callers with a client certificate signed by caBundle (the API server).', {
        apiServerWebhooks: bool('Self-signed certificates: generate the API server a client certificate and require it on /authorize and /authenticate (default true).'),
        enabled: bool('Require client certificates signed by caBundle on /authorize, /authenticate, /validate and /mutate.'),
        caBundle: { type: 'string', description: 'base64-encoded PEM of the CA that signed the API server webhook client certificate.' },
        apiServerCertFile: { type: 'string', minLength: 1, description: 'Client certificate path for the authorization webhook kubeconfig (on the control-plane nodes).' },
        apiServerKeyFile: { type: 'string', minLength: 1, description: 'Client key path for the authorization webhook kubeconfig.' },
      }),
    }),
    networkPolicy: obj('A NetworkPolicy opening only the HTTPS port of the operator pods.', {
      enabled: bool('Render the NetworkPolicy.'),
      webhookFrom: { type: 'array', items: { type: 'object' }, description: 'NetworkPolicy peers allowed to reach the HTTPS port; empty: any.' },
      monitoringFrom: { type: 'array', items: { type: 'object' }, description: 'NetworkPolicy peers allowed to scrape /metrics when webhookFrom is set (your monitoring namespace).' },
    }),
    certs: obj('Serving certificate for the webhooks.', {
      mode: { enum: ['operator', 'self-signed', 'cert-manager', 'provided'] },
      operator: obj('operator mode: the operator keeps its CA and serving certificate (lifetimes in days).', {
        caValidityDays: { type: 'integer', minimum: 2, maximum: 7300 },
        caRotateBeforeDays: { type: 'integer', minimum: 1, maximum: 7300, description: 'Publish a new CA when the current one has less than this left.' },
        caOverlapDays: { type: 'integer', minimum: 1, maximum: 3650, description: 'How long a new CA is published (webhooks, CA ConfigMap) before it signs.' },
        certValidityDays: { type: 'integer', minimum: 2, maximum: 1825 },
        certRenewBeforeDays: { type: 'integer', minimum: 1, maximum: 1825 },
        // Seconds override the days (short lifetimes for tests and trial clusters); the bounds are the operator's own.
        ...Object.fromEntries(['caValiditySeconds', 'caRotateBeforeSeconds', 'caOverlapSeconds', 'certValiditySeconds', 'certRenewBeforeSeconds'].map((k) =>
          [k, { ...P.certificates.properties[k], default: undefined, description: `Overrides ${k.replace('Seconds', 'Days')} (seconds; for tests and trial clusters).` }])),
        pollSeconds: { ...P.certificates.properties.pollSeconds, default: undefined, description: 'How often every replica reads the certificate Secret and the leader acts on it (default 10).' },
      }),
      validityDays: { type: 'integer', minimum: 1, maximum: 36500 },
      extraDnsNames: { type: 'array', items: { type: 'string', minLength: 1 } },
      extraIpAddresses: { type: 'array', items: { type: 'string', minLength: 1 } },
      certManager: obj('cert-manager mode.', {
        issuerRef: { type: 'object', properties: { name: { type: 'string', minLength: 1 }, kind: { enum: ['Issuer', 'ClusterIssuer'] }, group: { type: 'string' } } },
        duration: { type: 'string', pattern: '^[0-9]+(h|m|s)$' },
        renewBefore: { type: 'string', pattern: '^[0-9]+(h|m|s)$' },
      }),
      provided: obj('provided mode.', {
        secretName: { type: 'string' },
        caBundle: { type: 'string', description: 'base64-encoded PEM CA certificate.' },
      }),
    }, { required: ['mode'] }),
    authorizationWebhook: obj('The authorization webhook kubeconfig for the API server.', { kubeconfigConfigMap: bool('Render a ConfigMap with the kubeconfig.') }),
    metrics: obj('Monitoring: scrape objects, alerts and a dashboard (docs/runbook.md).', {
      caConfigMap: { type: 'string', description: 'A ConfigMap (key ca.crt) with the CA of the serving certificate; empty: <release>-gatehouse-ca. Needed with certs.mode cert-manager.' },
      serviceMonitor: obj('A prometheus-operator ServiceMonitor for /metrics over HTTPS.', monitorProps()),
      podMonitor: obj('A prometheus-operator PodMonitor for /metrics over HTTPS.', monitorProps()),
      prometheusRule: obj('A prometheus-operator PrometheusRule with the alerts of docs/runbook.md.', {
        enabled: bool('Render the PrometheusRule.'),
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        runbookBaseURL: { type: 'string', minLength: 1, description: "Each alert's runbook_url is this plus #<alert name in lower case>." },
        jobSelector: { type: 'string', description: 'PromQL label matchers selecting this release\'s series; empty: its ServiceMonitor or PodMonitor job.' },
        webhookDownFor: duration,
        latencyShareOfTimeout: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
        errorRatio: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
        noDecisionsWindow: duration,
        staleSyncSeconds: { type: 'integer', minimum: 60 },
        watchRestartsPer15m: { type: 'integer', minimum: 1 },
        certificateExpiryDays: { type: 'integer', minimum: 1, maximum: 365 },
      }),
      dashboard: obj('A Grafana dashboard in a ConfigMap for the dashboard sidecar.', {
        enabled: bool('Render the dashboard ConfigMap.'),
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        annotations: { type: 'object', additionalProperties: { type: 'string' } },
      }),
    }),
    tests: obj('helm test: server-side dry-runs of a Namespace and a Role through the webhooks.', { enabled: bool('Render the test pod.') }),
    crds: obj('The four CustomResourceDefinitions.', {
      install: bool('Install and upgrade the CRDs with the chart.'),
      keep: bool('Keep the CRDs (and all Gatehouse objects) on helm uninstall.'),
    }),
  },
};
writeFileSync(path.join(chart, 'values.schema.json'), JSON.stringify(schema, null, 2) + '\n');

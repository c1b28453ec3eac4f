// certificates.mode operator: every replica reads the certificate Secret through the API and serves
// the pair in it (no restart, no kubelet volume delay); the leader also creates the Secret when it
// is missing, renews and rotates (src/certs/plan.ts decides what), and publishes the trust bundle to
// the CA-only ConfigMap and to the caBundle of Gatehouse's own webhook configurations, named in the
// configuration (the chart's RBAC grants exactly those names). Replicas report, in the ConfigMap's
// annotations, which CA signed what they serve; the leader drops an old CA from the bundle only when
// every live replica has moved on.
import { createHash, X509Certificate } from 'node:crypto';
import type { CertificatesConfig } from '../config.js';
import type { Logger } from '../log.js';
import { errorMessage } from '../errors.js';
import { isConflict, isNotFound, type KubeClient } from '../controller/kube.js';
import { dataFromState, planStep, stateFromData, trustBundle, SECRET_KEYS, type CertSettings, type CertState } from './plan.js';
import { fingerprint, issuerIn, splitBundle, type KeyPair } from './x509.js';

export const REPORT_PREFIX = 'serving.iam.gatehouse.dev/';

export interface CertKeeperOptions {
  kube: KubeClient;
  namespace: string;
  identity: string;
  config: CertificatesConfig;
  logger: Logger;
  isLeader: () => boolean;
  /** Serves the pair from the next handshake on (WebhookServer.installCertificate). */
  install: (pair: { cert: string; key: string; clientCa?: string }) => void;
  /** Verify client certificates against the trust bundle (the API server's pair is signed by it). */
  clientCertificates: boolean;
  now?: () => number;
}

export interface CertKeeper {
  start(): void;
  /** Resolves when a serving pair was installed for the first time. */
  readonly installed: Promise<void>;
  /** Whether the certificate served now chains to every caBundle of the named webhook configurations. */
  trusted(): boolean;
  /** One pass now (tests). */
  tick(): Promise<void>;
  stop(): Promise<void>;
}

interface SecretObject {
  metadata: { name: string; resourceVersion?: string; annotations?: Record<string, string> };
  data?: Record<string, string>;
}
interface ConfigMapObject {
  metadata: { name: string; annotations?: Record<string, string> };
  data?: Record<string, string>;
}
interface WebhookConfigObject {
  webhooks?: Array<{ name: string; clientConfig?: { caBundle?: string } }>;
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

/** An annotation key for a replica: its identity when that fits a label name, else a digest of it. */
export function reportKey(identity: string): string {
  const ok = /^[a-z0-9A-Z]([-a-z0-9A-Z_.]{0,61}[a-z0-9A-Z])?$/.test(identity);
  return REPORT_PREFIX + (ok ? identity : `id-${createHash('sha256').update(identity).digest('hex').slice(0, 32)}`);
}

export function settingsFrom(c: CertificatesConfig): CertSettings {
  return {
    commonName: c.commonName,
    dnsNames: c.dnsNames,
    ipAddresses: c.ipAddresses,
    caValidityMs: c.caValiditySeconds * 1000,
    caRotateBeforeMs: c.caRotateBeforeSeconds * 1000,
    caOverlapMs: c.caOverlapSeconds * 1000,
    certValidityMs: c.certValiditySeconds * 1000,
    certRenewBeforeMs: c.certRenewBeforeSeconds * 1000,
    apiServerClient: c.apiServerClient,
  };
}

export function createCertKeeper(opts: CertKeeperOptions): CertKeeper {
  const { kube, namespace, config, isLeader, install } = opts;
  const logger = opts.logger.child({ component: 'certificates' });
  const now = opts.now ?? Date.now;
  const settings = settingsFrom(config);
  const pollMs = Math.max(100, config.pollSeconds * 1000);
  // A replica re-reports at least this often; a report older than three of these is a replica gone.
  const reportEveryMs = Math.max(3 * pollMs, 1000);
  const staleMs = 3 * reportEveryMs;
  const secretPath = `/api/v1/namespaces/${namespace}/secrets/${config.secretName}`;
  const cmPath = `/api/v1/namespaces/${namespace}/configmaps/${config.caConfigMapName}`;
  const webhookPaths = [
    ...config.validatingWebhookConfigurations.map((n) => `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${n}`),
    ...config.mutatingWebhookConfigurations.map((n) => `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${n}`),
  ];
  const key = reportKey(opts.identity);

  let installedKey: string | undefined;
  let servedCert: X509Certificate | undefined;
  let isTrusted = false;
  let lastReport: { value: string; at: number } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  let resolveInstalled!: () => void;
  const installed = new Promise<void>((r) => (resolveInstalled = r));

  async function getOrUndefined<T>(path: string): Promise<T | undefined> {
    try {
      return await kube.request<T>({ method: 'GET', path, timeoutMs: 10_000 });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  function decode(secret: SecretObject | undefined): CertState {
    if (!secret) return {};
    const data: Record<string, string> = {};
    for (const [k, v] of Object.entries(secret.data ?? {})) data[k] = unb64(v);
    return stateFromData(data, secret.metadata.annotations ?? {});
  }

  /** The leader's part: one step of the plan, written with the Secret's resourceVersion (a conflict waits for the next pass). */
  async function lead(secret: SecretObject | undefined, cm: ConfigMapObject | undefined): Promise<SecretObject | undefined> {
    const state = decode(secret);
    const t = now();
    const fresh: string[] = [];
    for (const [k, v] of Object.entries(cm?.metadata.annotations ?? {})) {
      if (!k.startsWith(REPORT_PREFIX)) continue;
      const [fp, at] = v.split('@');
      if (fp && at && t - Number(at) * 1000 < staleMs) fresh.push(fp);
    }
    const step = planStep(state, t, settings, fresh);
    let written = secret;
    if (step.state) {
      const { data, annotations } = dataFromState(step.state);
      const encoded = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)]));
      const ann = Object.fromEntries(Object.entries({ ...(secret?.metadata.annotations ?? {}), ...annotations }).filter((e): e is [string, string] => e[1] !== null));
      try {
        written = secret
          ? await kube.request<SecretObject>({ method: 'PUT', path: secretPath, body: { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { ...secret.metadata, annotations: ann }, data: encoded } })
          : await kube.request<SecretObject>({ method: 'POST', path: `/api/v1/namespaces/${namespace}/secrets`, body: { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: config.secretName, namespace, labels: { 'app.kubernetes.io/managed-by': 'gatehouse-operator' }, annotations: ann }, data: encoded } });
        logger.info({ step: step.kind, reason: step.reason, ca: step.state.ca ? fingerprint(step.state.ca.cert) : undefined }, 'certificate step applied');
      } catch (err) {
        if (isConflict(err)) return undefined; // another writer was first; read again next pass
        throw err;
      }
    }
    await publish(trustBundle(decode(written)), cm);
    return written;
  }

  /** The bundle to the CA ConfigMap (data only: the replicas' reports live in its annotations) and to each webhook configuration. */
  async function publish(bundle: string, cm: ConfigMapObject | undefined): Promise<void> {
    if (!bundle) return;
    if (!cm) {
      try {
        await kube.request({ method: 'POST', path: `/api/v1/namespaces/${namespace}/configmaps`, body: {
          apiVersion: 'v1', kind: 'ConfigMap',
          metadata: { name: config.caConfigMapName, namespace, labels: { 'app.kubernetes.io/managed-by': 'gatehouse-operator' } },
          data: { 'ca.crt': bundle },
        } });
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    } else if (cm.data?.['ca.crt'] !== bundle) {
      await kube.request({ method: 'PATCH', path: cmPath, contentType: 'application/merge-patch+json', body: { data: { 'ca.crt': bundle } } });
      logger.info({ cas: splitBundle(bundle).map(fingerprint) }, 'CA bundle published');
    }
    const want = b64(bundle);
    for (const path of webhookPaths) {
      const wc = await getOrUndefined<WebhookConfigObject>(path);
      if (!wc) continue;
      const ops: unknown[] = [];
      (wc.webhooks ?? []).forEach((w, i) => {
        if (w.clientConfig?.caBundle === want) return;
        // The name test keeps a concurrent reorder of the list from patching the wrong entry.
        ops.push({ op: 'test', path: `/webhooks/${i}/name`, value: w.name });
        ops.push({ op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: want });
      });
      if (ops.length === 0) continue;
      await kube.request({ method: 'PATCH', path, contentType: 'application/json-patch+json', body: ops });
      logger.info({ path }, 'webhook caBundle updated');
    }
  }

  /** Every replica: serve the Secret's pair when it is new. */
  function serve(state: CertState): void {
    const pair: KeyPair | undefined = state.serving;
    if (!pair) return;
    const bundle = trustBundle(state);
    const id = `${fingerprint(pair.cert)}|${opts.clientCertificates ? bundle : ''}`;
    if (id === installedKey) return;
    install({ cert: pair.cert, key: pair.key, ...(opts.clientCertificates && bundle ? { clientCa: bundle } : {}) });
    installedKey = id;
    servedCert = new X509Certificate(pair.cert);
    logger.info({ cert: fingerprint(servedCert), notAfter: servedCert.validTo }, 'serving certificate from the Secret');
    resolveInstalled();
  }

  /** Readiness: what the API server trusts (each named webhook configuration's caBundle) covers what this replica serves. */
  async function checkTrust(cm: ConfigMapObject | undefined): Promise<void> {
    if (!servedCert) {
      isTrusted = false;
      return;
    }
    const bundles: string[] = [];
    for (const path of webhookPaths) {
      const wc = await getOrUndefined<WebhookConfigObject>(path);
      for (const w of wc?.webhooks ?? []) bundles.push(unb64(w.clientConfig?.caBundle ?? ''));
    }
    if (bundles.length === 0 && cm?.data?.['ca.crt']) bundles.push(cm.data['ca.crt']);
    const cert = servedCert;
    isTrusted = bundles.length > 0 && bundles.every((b) => issuerIn(cert, splitBundle(b)) !== undefined);
  }

  async function report(state: CertState, cm: ConfigMapObject | undefined): Promise<void> {
    if (!cm || !servedCert || !state.ca) return;
    const issuer = issuerIn(servedCert, splitBundle(trustBundle(state)));
    if (!issuer) return;
    const fp = fingerprint(issuer);
    const t = now();
    if (lastReport && lastReport.value === fp && t - lastReport.at < reportEveryMs) return;
    const annotations: Record<string, string | null> = { [key]: `${fp}@${Math.floor(t / 1000)}` };
    if (isLeader()) {
      // Replicas gone for long leave their report behind; the leader sweeps them.
      for (const [k, v] of Object.entries(cm.metadata.annotations ?? {})) {
        const at = Number(v.split('@')[1]);
        if (k.startsWith(REPORT_PREFIX) && k !== key && t - at * 1000 > 10 * staleMs) annotations[k] = null;
      }
    }
    await kube.request({ method: 'PATCH', path: cmPath, contentType: 'application/merge-patch+json', body: { metadata: { annotations } } });
    lastReport = { value: fp, at: t };
  }

  async function pass(): Promise<void> {
    let secret = await getOrUndefined<SecretObject>(secretPath);
    let cm = await getOrUndefined<ConfigMapObject>(cmPath);
    if (isLeader()) {
      const written = await lead(secret, cm);
      if (written) secret = written;
      cm = await getOrUndefined<ConfigMapObject>(cmPath);
    }
    const state = decode(secret);
    serve(state);
    await checkTrust(cm);
    await report(state, cm);
  }

  function tick(): Promise<void> {
    running ??= pass()
      .catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'certificate pass failed; trying again'))
      .finally(() => {
        running = undefined;
      });
    return running;
  }

  function schedule(): void {
    if (stopped) return;
    // Until the first pair is served (a replica waits for the leader to make the Secret), look
    // every second: the server does not listen before.
    timer = setTimeout(() => {
      void tick().then(schedule);
    }, installedKey ? pollMs : Math.min(pollMs, 1000));
    timer.unref();
  }

  return {
    installed,
    start() {
      void tick().then(schedule);
    },
    trusted: () => isTrusted,
    tick,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}

export { SECRET_KEYS };

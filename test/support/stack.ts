// The whole of Gatehouse against a real control plane, for end-to-end tests: kube-apiserver with
// the authorization webhook (before RBAC, caches off), the operator in-process (index, controller,
// HTTPS server), both admission webhook configurations registered, the CRDs installed.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ControlPlane, freePort, makeServingCert, type ControlPlaneOptions, type KubectlOptions, type KubectlResult } from '../../src/controlplane/controlplane.js';
import { installCrds, kubeConfigFor, testLogger } from './operator.js';
import { parseConfig, type GatehouseConfig } from '../../src/config.js';
import { startOperator, type Operator } from '../../src/operator.js';
import { mutatingWebhookConfiguration, validatingWebhookConfiguration } from '../../src/admission/webhook-config.js';
import { indexBarrier } from './barrier.js';
import { TcpProxy } from './tcp-proxy.js';

export interface Stack {
  cp: ControlPlane;
  /** The webhook server's port on 127.0.0.1, and the CA that signed its certificate. */
  webhook: { port: number; caFile: string };
  operator: Operator;
  /** The operator's serving CA (PEM file): trust for its webhooks and its credential proxy. */
  caFile: string;
  config: GatehouseConfig;
  /** kubectl as the admin (system:masters), or as someone else with `{as, asGroups}`. */
  kubectl(args: string[], opts?: KubectlOptions): Promise<KubectlResult>;
  kubectlOk(args: string[], opts?: KubectlOptions): Promise<string>;
  /**
   * A barrier: lists every kind the index is fed by from the API server, then waits until the
   * operator's informers have applied at least that (test/support/barrier.ts). After it, the index
   * reflects every write made before the call; it fails after 60 s naming what it waited for.
   */
  settle(): Promise<void>;
  /** With `apiProxy`: the TCP proxy between the operator and the API server. */
  apiProxy: TcpProxy | undefined;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Raw configuration merged over the test defaults (seedAdmins, defaults, projects, registration, ...). */
  config?: Record<string, unknown>;
  /** Register the admission webhooks (default true). */
  admission?: boolean;
  controlPlane?: Omit<ControlPlaneOptions, 'authorizationWebhook'>;
  webhookOrder?: 'before-rbac' | 'after-rbac';
  /**
   * `rbac`: the API server runs `--authorization-mode=RBAC` with no webhook at all (what EKS, GKE
   * and AKS give), and the operator writes native RBAC objects. Default `webhook`.
   */
  authorizationMode?: 'webhook' | 'rbac' | 'both';
  /**
   * The webhook server accepts webhook calls only with a client certificate from the test CA
   * (server.clientCAFile), and the API server presents one (docs/security.md).
   */
  clientCertificates?: boolean;
  /** Also point the apiserver's webhook token authentication at the operator's /authenticate. */
  tokenWebhook?: boolean;
  /** Put a TCP proxy (stack.apiProxy) between the operator and the API server, to delay or cut its traffic. */
  apiProxy?: boolean;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-stack-'));
  const tls = await makeServingCert(path.join(dir, 'pki'), 'gatehouse');
  const port = await freePort();
  const mode = opts.authorizationMode ?? 'webhook';
  const client = opts.clientCertificates ? await makeServingCert(path.join(dir, 'pki'), 'apiserver-webhook-client') : undefined;
  const cp = await ControlPlane.start({
    ...opts.controlPlane,
    ...(client ? { webhookClientCert: { cert: client.cert, key: client.key } } : {}),
    ...(mode === 'rbac' ? {} : { authorizationWebhook: { url: `https://127.0.0.1:${port}/authorize`, caFile: tls.caCert, order: opts.webhookOrder ?? 'before-rbac' } }),
    ...(opts.tokenWebhook ? { tokenWebhook: { url: `https://127.0.0.1:${port}/authenticate`, caFile: tls.caCert } } : {}),
  });
  let operator: Operator | undefined;
  let proxy: TcpProxy | undefined;
  try {
    if (opts.apiProxy) proxy = await TcpProxy.start(Number(new URL(cp.url).port));
    await installCrds(cp);
    const config = parseConfig({
      ...opts.config,
      authorization: { ...(opts.config?.['authorization'] as object | undefined), mode },
      // Credentials on: the proxy serves with the operator's certificate, so users trust its CA.
      ...(isObject(opts.config?.['credentials'])
        ? { credentials: { ...opts.config['credentials'], proxy: { host: '127.0.0.1', port: 0, caFile: tls.caCert, ...(opts.config['credentials']['proxy'] as object | undefined) } } }
        : {}),
      server: { host: '127.0.0.1', port, certFile: tls.cert, keyFile: tls.key, ...(client ? { clientCAFile: tls.caCert } : {}) },
      operator: {
        namespace: 'gatehouse-system',
        identity: 'e2e',
        kubeconfig: cp.kubeconfigPath,
        leaderElection: { leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 1 },
        watch: { silenceTimeoutSeconds: 30, backoffInitialMs: 100, backoffMaxMs: 1000 },
      },
    });
    operator = await startOperator({ config, logger: testLogger('e2e'), kubeConfig: await kubeConfigFor(cp, proxy?.url) });
    await operator.controller.synced;
    if (opts.admission !== false) {
      const ca = await readFile(tls.caCert, 'utf8');
      const whOpts = { urlBase: `https://127.0.0.1:${port}`, caBundle: ca, operatorNamespace: 'gatehouse-system' };
      const docs = [validatingWebhookConfiguration(whOpts), mutatingWebhookConfiguration(whOpts)];
      await cp.kubectlOk(['apply', '-f', '-'], { input: docs.map((d) => JSON.stringify(d)).join('\n') });
    }
    const op = operator;
    const api = { url: cp.url, caFile: cp.caFile, token: cp.adminToken };
    return {
      cp,
      webhook: { port, caFile: tls.caCert },
      operator: op,
      caFile: tls.caCert,
      config,
      kubectl: (args, o) => cp.kubectl(args, o),
      kubectlOk: (args, o) => cp.kubectlOk(args, o),
      apiProxy: proxy,
      settle: () => indexBarrier(op.controller, api),
      async stop() {
        await op.stop();
        await proxy?.close();
        await cp.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await operator?.stop();
    await proxy?.close();
    await cp.stop();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

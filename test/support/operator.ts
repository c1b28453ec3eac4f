// Starts the controller in-process against a test control plane, optionally through a TcpProxy,
// with short lease and watch timings.
import { readFile } from 'node:fs/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { parseConfig, type GatehouseConfig } from '../../src/config.js';
import { createController, type Controller, type ControllerOptions } from '../../src/controller/controller.js';
import { PermissionIndex } from '../../src/authz/index.js';
import { decide } from '../../src/authz/decide.js';
import type { Verdict } from '../../src/authz/types.js';
import { createLogger, silentLogger, type Logger } from '../../src/log.js';
import { crdDir } from '../../src/api/crds.js';
import { ControlPlane } from '../../src/controlplane/controlplane.js';
import { reader, type Reader } from './kube-read.js';
import { TcpProxy } from './tcp-proxy.js';

/** Short timings for tests; `overrides` are merged into the raw configuration first. */
export function testConfig(overrides: Record<string, unknown> = {}, operator: Record<string, unknown> = {}): GatehouseConfig {
  return parseConfig({
    ...overrides,
    operator: {
      namespace: 'gatehouse-system',
      identity: 'op-a',
      leaderElection: { leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 1 },
      watch: { silenceTimeoutSeconds: 6, backoffInitialMs: 100, backoffMaxMs: 1000 },
      ...operator,
    },
  });
}

/** The admin kubeconfig, with its server moved to `serverUrl` (a proxy) when given. */
export async function kubeConfigFor(cp: ControlPlane, serverUrl?: string): Promise<KubeConfig> {
  let text = await readFile(cp.kubeconfigPath, 'utf8');
  if (serverUrl) text = text.replace(cp.url, serverUrl);
  const kc = new KubeConfig();
  kc.loadFromString(text);
  return kc;
}

export function testLogger(name: string): Logger {
  return process.env['GATEHOUSE_TEST_LOG'] ? createLogger('debug').child({ op: name }) : silentLogger();
}

export async function installCrds(cp: ControlPlane): Promise<void> {
  await cp.kubectlOk(['apply', '-f', crdDir()]);
  const crds = ['users', 'roles', 'teams', 'rolebindings', 'accessrequests'].map((p) => `${p}.iam.gatehouse.dev`);
  // kubectl 1.35's wait fails at once ("status.conditions accessor error") on a CRD whose status
  // has no conditions yet, a moment after it was created: ask again.
  for (let attempt = 0; ; attempt++) {
    const res = await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', ...crds]);
    if (res.code === 0) break;
    if (attempt >= 10 || !/conditions accessor error/.test(res.stderr)) throw new Error(`kubectl wait for the CRDs failed (${res.code}): ${res.stderr}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const ns = await cp.kubectl(['create', 'namespace', 'gatehouse-system']);
  if (ns.code !== 0 && !/AlreadyExists/.test(ns.stderr)) throw new Error(ns.stderr);
}

export async function startOperator(opts: {
  cp: ControlPlane;
  index: PermissionIndex;
  config: GatehouseConfig;
  serverUrl?: string;
  name?: string;
  extra?: Partial<ControllerOptions>;
}): Promise<Controller> {
  const controller = createController({
    kubeConfig: await kubeConfigFor(opts.cp, opts.serverUrl),
    config: opts.config,
    index: opts.index,
    logger: testLogger(opts.name ?? opts.config.operator.identity),
    ...opts.extra,
  });
  controller.start();
  return controller;
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
}

export function newIndex(config: GatehouseConfig, now: () => number = Date.now): PermissionIndex {
  return new PermissionIndex(config, now);
}

/** What decide() answers for `user` doing `verb` on `resource` (core group unless `group`), in `namespace`. */
export function verdict(index: PermissionIndex, user: string, verb: string, resource: string, namespace?: string, group = ''): Verdict {
  return decide(index, { user, groups: [], resource: { verb, group, resource, ...(namespace ? { namespace } : {}) } }).verdict;
}

/** What every controller integration test starts with: a control plane with the CRDs, a reader, and optionally a proxy in front. */
export interface ControllerBed {
  cp: ControlPlane;
  rd: Reader;
  /** Present when asked for: a TCP proxy to the API server the test can cut, freeze or restore. */
  proxy: TcpProxy | undefined;
  stop(): Promise<void>;
}

export async function startControllerBed(opts: { proxy?: boolean } = {}): Promise<ControllerBed> {
  const cp = await ControlPlane.start();
  await installCrds(cp);
  const rd = await reader(cp);
  const proxy = opts.proxy ? await TcpProxy.start(Number(new URL(cp.url).port)) : undefined;
  return {
    cp,
    rd,
    proxy,
    async stop() {
      await proxy?.close();
      await cp.stop();
    },
  };
}

/** The object the index holds for a kind and name (Namespace for anything else). */
export function indexed(index: PermissionIndex, kind: string, name: string): { metadata: { name: string }; spec?: any } | undefined {
  switch (kind) {
    case 'User': return index.getUser(name);
    case 'Role': return index.getRole(name);
    case 'Team': return index.getTeam(name);
    case 'RoleBinding': return index.getBinding(name);
    default: return index.getNamespace(name);
  }
}

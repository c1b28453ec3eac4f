// The access-request controller: the leader looks at every AccessRequest each requests.resyncMs
// (and when poked), plans its next state (lifecycle.ts, pure) and writes: the status, the
// RoleBinding an approval grants (owned by the request, so deleting the request removes it, with
// expiresAt), its deletion when the grant ends, Events on the request and on the requester's User
// with the actor, and a notification. In authorization modes rbac and both it also keeps the
// native ClusterRole and ClusterRoleBinding that let Active users use AccessRequests (decide()
// does it in webhook mode). Followers neither read nor write.
import { API_VERSION, GROUP, PLURALS, VERSION, type RoleBinding } from '../api/types.js';
import type { GatehouseConfig } from '../config.js';
import type { Logger } from '../log.js';
import type { PermissionIndex } from '../authz/index.js';
import { isConflict, isNotFound, type KubeClient } from '../controller/kube.js';
import { planRequest } from './lifecycle.js';
import type { Notifier } from './notify.js';
import { grantBindingName, REQUEST_KIND, REQUEST_PATH, REQUEST_PLURAL, type AccessRequestObject } from './types.js';

/** On a RoleBinding an approval made: the request's name. */
export const REQUEST_LABEL = `${GROUP}/access-request`;
/** The native objects of modes rbac/both (not under `gatehouse:`, which the RBAC applier owns). */
export const REQUESTER_RBAC_NAME = 'iam.gatehouse.dev:access-requesters';
const COMPONENT = 'gatehouse-requests';

export interface RequestControllerOptions {
  kube: KubeClient;
  index: PermissionIndex;
  config: GatehouseConfig;
  logger: Logger;
  now: () => number;
  isLeader: () => boolean;
  notifier?: Notifier | undefined;
}

export interface RequestController {
  start(): void;
  /** Look now (after a write the caller knows of). */
  poke(): void;
  stop(): Promise<void>;
}

interface List<T> {
  items: T[];
}

export function createRequestController(opts: RequestControllerOptions): RequestController {
  const { kube, index, config, logger, now } = opts;
  const rc = config.requests ?? { pendingTTLSeconds: 86400, resyncMs: 2000, notify: { maxAttempts: 5, backoffInitialMs: 1000, timeoutMs: 5000 } };
  const bindingsPath = `/apis/${GROUP}/${VERSION}/${PLURALS.RoleBinding}`;
  const rbacMode = config.authorization.mode !== 'webhook';
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  let rbacSubjects = '';

  async function event(kind: string, name: string, uid: string | undefined, reason: string, message: string, type: 'Normal' | 'Warning' = 'Normal'): Promise<void> {
    const ns = config.operator.namespace;
    const at = new Date(now()).toISOString();
    try {
      await kube.request({
        method: 'POST',
        path: `/api/v1/namespaces/${encodeURIComponent(ns)}/events`,
        body: {
          apiVersion: 'v1', kind: 'Event',
          metadata: { generateName: `${name}.`, namespace: ns },
          involvedObject: { apiVersion: API_VERSION, kind, name, namespace: ns, ...(uid ? { uid } : {}) },
          reason, message, type,
          source: { component: COMPONENT }, reportingComponent: COMPONENT, reportingInstance: config.operator.identity,
          firstTimestamp: at, lastTimestamp: at, count: 1,
        },
      });
    } catch (err) {
      logger.warn({ kind, name, reason, err: err instanceof Error ? err.message : String(err) }, 'event not recorded');
    }
  }

  async function reconcileOne(req: AccessRequestObject): Promise<void> {
    const name = req.metadata.name;
    const bindingName = grantBindingName(name);
    const requester = req.spec.requester ? index.getUserByUsername(req.spec.requester) : undefined;
    const role = index.getRole(req.spec.role);
    const plan = planRequest({ request: req, role, requester, bindingExists: index.getBinding(bindingName) !== undefined, now: now(), pendingTTLms: rc.pendingTTLSeconds * 1000 });
    if (plan.createBinding && requester) {
      const rb: RoleBinding = {
        apiVersion: API_VERSION, kind: 'RoleBinding',
        metadata: {
          name: bindingName,
          labels: { [REQUEST_LABEL]: name },
          ...({ ownerReferences: [{ apiVersion: API_VERSION, kind: REQUEST_KIND, name, uid: req.metadata.uid, controller: true, blockOwnerDeletion: false }] } as object),
        },
        spec: { role: req.spec.role, subjects: [{ kind: 'User', name: requester.metadata.name }], scope: req.spec.scope, ...(plan.status.expiresAt ? { expiresAt: plan.status.expiresAt } : {}) },
      };
      try {
        await kube.request({ method: 'POST', path: bindingsPath, body: rb });
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    }
    if (plan.deleteBinding) {
      try {
        await kube.request({ method: 'DELETE', path: `${bindingsPath}/${encodeURIComponent(bindingName)}` });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    if (plan.changed || JSON.stringify(plan.status) !== JSON.stringify(req.status ?? {})) {
      await kube.request({
        method: 'PATCH',
        path: `${REQUEST_PATH}/${encodeURIComponent(name)}/status`,
        contentType: 'application/merge-patch+json',
        body: { status: plan.status },
      });
    }
    if (!plan.changed) return;
    const phase = plan.status.phase ?? 'Pending';
    const message = `${phase}: ${plan.status.message ?? ''} (actor ${plan.actor})`;
    logger.info({ request: name, phase, actor: plan.actor }, 'access request changed');
    await event(REQUEST_KIND, name, req.metadata.uid, `Request${phase}`, message, phase === 'Denied' || phase === 'Revoked' ? 'Warning' : 'Normal');
    if (requester) await event('User', requester.metadata.name, requester.metadata.uid, `AccessRequest${phase}`, `access request ${name} for role ${req.spec.role}: ${message}`);
    opts.notifier?.send({
      type: 'AccessRequestChanged', request: name, phase, previousPhase: req.status?.phase, requester: req.spec.requester, role: req.spec.role,
      scope: req.spec.scope, actor: plan.actor, message: plan.status.message ?? '', ...(plan.status.expiresAt ? { expiresAt: plan.status.expiresAt } : {}),
      at: new Date(now()).toISOString(),
    });
  }

  async function keepRequesterRbac(): Promise<void> {
    const users = index.listUsers().filter((u) => u.spec.state === 'Active').map((u) => u.spec.username ?? u.metadata.name).sort();
    const key = users.join('\n');
    if (key === rbacSubjects) return;
    const labels = { 'app.kubernetes.io/part-of': 'gatehouse' };
    const put = async (path: string, body: Record<string, unknown>): Promise<void> => {
      try {
        await kube.request({ method: 'PUT', path: `${path}/${REQUESTER_RBAC_NAME}`, body });
      } catch (err) {
        if (!isNotFound(err)) throw err;
        await kube.request({ method: 'POST', path, body });
      }
    };
    await put('/apis/rbac.authorization.k8s.io/v1/clusterroles', {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: REQUESTER_RBAC_NAME, labels },
      rules: [{ apiGroups: [GROUP], resources: [REQUEST_PLURAL], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] }],
    });
    await put('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: REQUESTER_RBAC_NAME, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: REQUESTER_RBAC_NAME },
      subjects: users.map((name) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name })),
    });
    rbacSubjects = key;
  }

  async function pass(): Promise<void> {
    if (stopped || !opts.isLeader() || !index.synced) return;
    if (rbacMode) await keepRequesterRbac();
    // resourceVersion 0: the API server's watch cache answers, not etcd. The grants' RoleBindings
    // are read from the index (the controller's informer), not listed: a label-selected list of
    // RoleBindings every resyncMs made the API server read every RoleBinding from etcd each time,
    // API server time that mode rbac's writes then lacked (issue 26, docs/rbac.md).
    const list = await kube.request<List<AccessRequestObject>>({ method: 'GET', path: REQUEST_PATH, query: { resourceVersion: '0' } });
    for (const req of list.items) {
      if (stopped || !opts.isLeader()) return;
      try {
        await reconcileOne(req);
      } catch (err) {
        logger.warn({ request: req.metadata.name, err: err instanceof Error ? err.message : String(err) }, 'access request not reconciled');
      }
    }
  }

  function run(): void {
    if (running) {
      again = true;
      return;
    }
    running = pass()
      .catch((err) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'access requests pass failed'))
      .finally(() => {
        running = undefined;
        if (again && !stopped) {
          again = false;
          run();
        }
      });
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      run();
      schedule();
    }, rc.resyncMs);
    timer.unref();
  }

  return {
    start() {
      schedule();
    },
    poke() {
      run();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      opts.notifier?.stop();
      await running;
    },
  };
}

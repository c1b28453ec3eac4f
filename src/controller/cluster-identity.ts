// Publishes this cluster's identity (issue 30) where a client holding only a kubeconfig can read
// it: the ConfigMap kube-public/gatehouse-cluster (src/fleet/identity.ts). The leader writes it at
// start and whenever it differs (someone edited or deleted it), checking every `intervalMs`.
// Failures are logged and retried; nothing else depends on it (the operator's own answers use its
// configuration, never this ConfigMap).
import type { Logger } from '../log.js';
import type { ClusterIdentity } from '../fleet/cluster.js';
import { CLUSTER_IDENTITY_CONFIGMAP, clusterIdentityData } from '../fleet/identity.js';
import { errorMessage } from '../errors.js';
import { isNotFound, type KubeClient } from './kube.js';

export interface ClusterIdentityPublisherOptions {
  kube: KubeClient;
  cluster: ClusterIdentity;
  isLeader: () => boolean;
  logger: Logger;
  /** How often the leader compares the ConfigMap with the configuration (default 10 s). */
  intervalMs?: number;
}

export interface ClusterIdentityPublisher {
  start(): void;
  stop(): Promise<void>;
  /** One comparison (and write when needed) now; true when the ConfigMap is as configured. Leader only. */
  publish(): Promise<boolean>;
}

const { namespace, name } = CLUSTER_IDENTITY_CONFIGMAP;
const PATH = `/api/v1/namespaces/${namespace}/configmaps`;

export function createClusterIdentityPublisher(opts: ClusterIdentityPublisherOptions): ClusterIdentityPublisher {
  const want = clusterIdentityData(opts.cluster);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<boolean> | undefined;
  let lastError = '';

  async function once(): Promise<boolean> {
    if (!opts.isLeader()) return false;
    try {
      let existing: { data?: Record<string, string> } | undefined;
      try {
        existing = await opts.kube.request<{ data?: Record<string, string> }>({ method: 'GET', path: `${PATH}/${name}` });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      if (existing === undefined) {
        await opts.kube.request({
          method: 'POST',
          path: PATH,
          body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, labels: { 'app.kubernetes.io/managed-by': 'gatehouse' } }, data: want },
        });
        opts.logger.info({ cluster: want.name, labels: want.labels }, 'cluster identity published');
      } else if (existing.data?.['name'] !== want.name || existing.data?.['labels'] !== want.labels) {
        await opts.kube.request({ method: 'PATCH', path: `${PATH}/${name}`, contentType: 'application/merge-patch+json', body: { data: want } });
        opts.logger.info({ cluster: want.name, labels: want.labels }, 'cluster identity published');
      }
      lastError = '';
      return true;
    } catch (err) {
      const message = errorMessage(err);
      // Once per distinct error: a missing permission would otherwise log every interval.
      if (message !== lastError) opts.logger.warn({ err: message, namespace, name }, 'cannot publish the cluster identity');
      lastError = message;
      return false;
    }
  }

  function publish(): Promise<boolean> {
    running ??= once().finally(() => {
      running = undefined;
    });
    return running;
  }

  return {
    start() {
      if (timer) return;
      void publish();
      timer = setInterval(() => void publish(), opts.intervalMs ?? 10_000);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running;
    },
    publish,
  };
}

// Gatehouse as its users deploy it, on the single-node cluster (node.ts): the image that
// `npm run image` builds, the chart installed with helm, the authorization webhook kubeconfig the
// chart renders wired into the node's kube-apiserver, and what the tests and `npm run local --
// --cluster` read back from the real pods (leader, host pid, cgroup memory). One place, so the
// cluster test, the local run and later scenarios (certificate rotation on the node) share it.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { controlPlaneEnv } from '../config.js';
import { runCommand, type KubectlResult } from './controlplane.js';
import type { NodeCluster } from './node.js';

export interface BuiltImage {
  /** The OCI archive (dist/image/gatehouse-<tag>.oci.tar). */
  archive: string;
  repository: string;
  tag: string;
  seconds: number;
}

/** Runs scripts/image.sh (the project's `npm run image`); its last line is the archive's path. */
export async function buildImage(repoRoot: string): Promise<BuiltImage> {
  const t0 = Date.now();
  const built = await runCommand('bash', [path.join(repoRoot, 'scripts', 'image.sh')], { timeoutMs: 60 * 60_000, cwd: repoRoot });
  if (built.code !== 0) throw new Error(`npm run image failed:\n${built.stderr.slice(-4000)}`);
  const archive = built.stdout.trim().split('\n').pop() ?? '';
  const tag = /gatehouse-(.+)\.oci\.tar$/.exec(archive)?.[1];
  if (!tag || !existsSync(archive)) throw new Error(`scripts/image.sh printed no archive path: ${built.stdout}`);
  return { archive, repository: 'localhost/gatehouse', tag, seconds: (Date.now() - t0) / 1000 };
}

export interface OperatorPod {
  metadata: { name: string; uid: string; deletionTimestamp?: string };
  spec: { containers: Array<{ securityContext?: { readOnlyRootFilesystem?: boolean; runAsNonRoot?: boolean } }> };
  status: { podIP?: string; phase?: string; containerStatuses?: Array<{ ready: boolean; containerID?: string; restartCount?: number }> };
}

export type AuthorizationMode = 'webhook' | 'rbac' | 'both';

/** One Helm release of the chart on a NodeCluster. */
export class GatehouseRelease {
  constructor(
    readonly node: NodeCluster,
    readonly chart: string,
    readonly image: BuiltImage,
    readonly release = 'gatehouse',
    readonly namespace = 'gatehouse-system',
  ) {}

  /** The chart's fullname for this release (the release name when it contains "gatehouse"). */
  get fullname(): string {
    return this.release.includes('gatehouse') ? this.release : `${this.release}-gatehouse`;
  }

  /** A fixed ClusterIP for the webhook Service: kube-apiserver reaches it without cluster DNS. */
  get serviceIP(): string {
    return `10.96.${this.node.n}.200`;
  }

  /** Where the API server's files for Gatehouse live on this "control-plane node". */
  get apiServerDir(): string {
    return path.join(this.node.dir, 'gatehouse');
  }

  helm(args: string[], timeoutMs = 600_000): Promise<KubectlResult> {
    return runCommand(controlPlaneEnv().helm, [...args, '--kubeconfig', this.node.kubeconfigPath], { timeoutMs });
  }

  async helmOk(args: string[], timeoutMs = 600_000): Promise<string> {
    const res = await this.helm(args, timeoutMs);
    if (res.code !== 0) throw new Error(`helm ${args.join(' ')} failed (${res.code}): ${res.stderr}\n${await this.diagnostics()}`);
    return res.stdout;
  }

  /**
   * The values a user sets for this install (README: the local image, never pulled), for `mode`:
   * webhook mode adds the fixed Service IP and where the API server's client pair lives.
   */
  values(mode: AuthorizationMode): string[] {
    const v = ['--set', `authorization.mode=${mode}`, '--set', `image.repository=${this.image.repository}`,
      '--set', `image.tag=${this.image.tag}`, '--set', 'image.pullPolicy=Never'];
    if (mode !== 'rbac') {
      v.push('--set', `service.clusterIP=${this.serviceIP}`,
        '--set', `webhook.clientCertificates.apiServerCertFile=${path.join(this.apiServerDir, 'client.crt')}`,
        '--set', `webhook.clientCertificates.apiServerKeyFile=${path.join(this.apiServerDir, 'client.key')}`);
    }
    return v;
  }

  /** `helm install --wait`; returns the seconds to both replicas Ready. */
  async install(mode: AuthorizationMode, extra: string[] = []): Promise<number> {
    const t0 = Date.now();
    await this.helmOk(['install', this.release, this.chart, '-n', this.namespace, '--create-namespace', '--wait', '--timeout', '8m',
      ...this.values(mode), ...extra]);
    return (Date.now() - t0) / 1000;
  }

  /**
   * What NOTES.txt tells an administrator to do for the webhook modes: copy the rendered
   * kubeconfig and the API server's client pair to the control-plane node and restart
   * kube-apiserver with the README's flags (caches off here, so every review reaches a pod).
   */
  async wireAuthorizationWebhook(): Promise<void> {
    await mkdir(this.apiServerDir, { recursive: true });
    let kubeconfig = await this.node.cp.kubectlOk(['get', 'configmap', `${this.fullname}-authz-webhook`, '-n', this.namespace,
      '-o', 'jsonpath={.data.kubeconfig\\.yaml}']);
    const secretOf = async (name: string): Promise<Record<string, string> | undefined> => {
      const res = await this.node.cp.kubectl(['get', 'secret', name, '-n', this.namespace, '-o', 'json']);
      return res.code === 0 ? (JSON.parse(res.stdout) as { data: Record<string, string> }).data : undefined;
    };
    // certs.mode operator (the default): the API server's client pair is in the operator's own
    // Secret and the CA in the CA-only ConfigMap, which the kubeconfig names by a path on the
    // control-plane node (NOTES.txt); the other modes keep the pair in its own Secret.
    let crt: string | undefined;
    let key: string | undefined;
    const own = await secretOf(`${this.fullname}-apiserver-client`);
    if (own) {
      crt = own['tls.crt'];
      key = own['tls.key'];
    } else {
      // The leader writes the pair; Ready pods do not promise it is there yet (a Secret left by an
      // earlier install gets it on the leader's next pass), so wait for it a while.
      for (let i = 0; i < 120 && !crt; i++) {
        const operator = await secretOf(`${this.fullname}-tls`);
        crt = operator?.['apiserver-client.crt'];
        key = operator?.['apiserver-client.key'];
        if (!crt) await new Promise((r) => setTimeout(r, 1000));
      }
      const ca = await this.node.cp.kubectlOk(['get', 'configmap', `${this.fullname}-ca`, '-n', this.namespace, '-o', 'jsonpath={.data.ca\\.crt}']);
      const caFile = path.join(this.apiServerDir, 'ca.crt');
      await writeFile(caFile, ca);
      kubeconfig = kubeconfig.split('/etc/kubernetes/gatehouse/ca.crt').join(caFile);
    }
    if (!crt || !key) throw new Error(`no client pair for the API server in ${this.fullname}-apiserver-client or ${this.fullname}-tls\n${await this.diagnostics()}`);
    const file = path.join(this.apiServerDir, 'authz-webhook.yaml');
    await writeFile(file, kubeconfig);
    await writeFile(path.join(this.apiServerDir, 'client.crt'), Buffer.from(crt, 'base64'));
    await writeFile(path.join(this.apiServerDir, 'client.key'), Buffer.from(key, 'base64'), { mode: 0o600 });
    await this.node.cp.reconfigureApiserver(['--authorization-mode=Node,Webhook,RBAC', `--authorization-webhook-config-file=${file}`,
      '--authorization-webhook-version=v1', '--authorization-webhook-cache-authorized-ttl=0s', '--authorization-webhook-cache-unauthorized-ttl=0s']);
  }

  async pods(): Promise<OperatorPod[]> {
    const out = JSON.parse(await this.node.cp.kubectlOk(['get', 'pods', '-n', this.namespace, '-l', `app.kubernetes.io/instance=${this.release}`, '-o', 'json'])) as { items: OperatorPod[] };
    return out.items;
  }

  /** Pods not terminating whose containers are all Ready. */
  async readyPods(): Promise<OperatorPod[]> {
    return (await this.pods()).filter((p) => !p.metadata.deletionTimestamp && (p.status.containerStatuses ?? []).length > 0
      && p.status.containerStatuses!.every((c) => c.ready));
  }

  async leader(): Promise<string> {
    const res = await this.node.cp.kubectl(['get', 'lease', `${this.fullname}-leader`, '-n', this.namespace, '-o', 'jsonpath={.spec.holderIdentity}']);
    return res.code === 0 ? res.stdout.trim() : '';
  }

  /** The host pid of a pod's operator container (containerd's task list). */
  async hostPid(pod: OperatorPod): Promise<number> {
    const id = (pod.status.containerStatuses?.[0]?.containerID ?? '').replace(/^containerd:\/\//, '');
    if (!id) throw new Error(`${pod.metadata.name} has no container id yet`);
    const info = await runCommand('ctr', ['--address', this.node.containerdSocket, '-n', 'k8s.io', 'tasks', 'ls'], { timeoutMs: 10_000 });
    const line = info.stdout.split('\n').find((l) => l.startsWith(id));
    const pid = Number(line?.trim().split(/\s+/)[1]);
    if (!(pid > 0)) throw new Error(`no host pid for container ${id}`);
    return pid;
  }

  /**
   * The container's memory as its cgroup counts it (cgroup v1 memory.usage_in_bytes, v2
   * memory.current), and the process's RSS for comparison with a host process.
   */
  async memory(pod: OperatorPod): Promise<{ cgroupBytes: number; rssBytes: number }> {
    const pid = await this.hostPid(pod);
    const cgroups = (await readFile(`/proc/${pid}/cgroup`, 'utf8')).split('\n');
    let cgroupBytes = NaN;
    const v1 = cgroups.find((l) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(l));
    if (v1) {
      const rel = v1.split(':').slice(2).join(':');
      cgroupBytes = Number((await readFile(path.join('/sys/fs/cgroup/memory', rel, 'memory.usage_in_bytes'), 'utf8')).trim());
    } else {
      const v2 = cgroups.find((l) => l.startsWith('0::'));
      if (v2) cgroupBytes = Number((await readFile(path.join('/sys/fs/cgroup', v2.slice(3), 'memory.current'), 'utf8')).trim());
    }
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN);
    return { cgroupBytes, rssBytes: rssKb * 1024 };
  }

  /** What a failed step needs: the pods, the namespace's last events and each pod's last log lines. */
  async diagnostics(): Promise<string> {
    const pods = await this.node.cp.kubectl(['get', 'pods', '-n', this.namespace, '-o', 'wide']);
    const events = await this.node.cp.kubectl(['get', 'events', '-n', this.namespace, '--sort-by=.lastTimestamp']);
    const logs = await this.node.cp.kubectl(['logs', '-n', this.namespace, '-l', `app.kubernetes.io/instance=${this.release}`, '--tail=20', '--prefix']);
    return `${pods.stdout}${pods.stderr}\n${events.stdout.split('\n').slice(-30).join('\n')}\n${logs.stdout}${logs.stderr}`;
  }
}

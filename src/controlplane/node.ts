// A real single-node Kubernetes 1.20 on this machine, for tests that run Gatehouse as its users do
// (the image, the chart, real pods): the embedded control plane (controlplane.ts) bound to a pod
// bridge's gateway, plus kube-controller-manager, kube-scheduler, kubelet and kube-proxy built from
// the same source (`scripts/controlplane-install.sh --node`), containerd + runc and the CNI
// plugins from Debian. Nothing is pulled: images are imported into containerd's k8s.io namespace
// (the pause image is built from the source's pause.c). Needs root.
//
// Every process is started and stopped by pid; every address is on a bridge this harness creates
// (a free 10.244.N.0/24, its services in 10.96.N.0/24), so nothing listens beyond this machine.
// Pitfalls of this kind of machine, each of which cost a failed pod (docs/helm.md has the list):
// - root lacks CAP_SYS_RESOURCE: containerd's CRI needs restrict_oom_score_adj, or every sandbox
//   fails with runc's bare "can't get final child's PID from pipe: EOF";
// - crun refuses the hybrid cgroup layout (runc is the runtime); the kubelet runs without QoS
//   cgroups or node-allocatable enforcement, with the cgroupfs driver and swap allowed;
// - pods cannot reach the host's loopback, hence the bridge gateway as the API server's address;
// - there is no cluster DNS: in-cluster clients use KUBERNETES_SERVICE_HOST, and kube-apiserver
//   reaches the kubelet by InternalIP;
// - images are imported under fully qualified names (localhost/NAME:TAG): a short name is looked
//   up as docker.io/NAME and never found under imagePullPolicy Never.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { controlPlaneEnv } from '../config.js';
import { ControlPlane, freePort, runCommand, startProcess, stopProcess, type ControlPlaneOptions, type Proc } from './controlplane.js';

const execFileP = promisify(execFile);

export const PAUSE_IMAGE = 'k8s.gcr.io/pause:3.2';
const NODE_NAME = 'gatehouse-node';

export class NodeUnavailableError extends Error {
  readonly code = 'NODE_UNAVAILABLE';
}

export interface NodeBinaries {
  kubelet: string;
  controllerManager: string;
  scheduler: string;
  proxy: string;
  pause: string;
  containerd: string;
  cniDir: string;
}

export function nodeBinaries(): NodeBinaries {
  const bin = path.join(controlPlaneEnv().cache, 'bin');
  return {
    kubelet: path.join(bin, 'kubelet'),
    controllerManager: controlPlaneEnv().controllerManager,
    scheduler: path.join(bin, 'kube-scheduler'),
    proxy: path.join(bin, 'kube-proxy'),
    pause: path.join(bin, 'pause'),
    containerd: '/usr/bin/containerd',
    cniDir: '/usr/lib/cni',
  };
}

/** Why a node cannot start here (not root, a binary missing), or undefined when it can. */
export function nodeUnavailableReason(): string | undefined {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return 'the single-node cluster needs root on Linux';
  // An unprivileged container's root cannot make the bridge, the iptables rules or the pods' mounts.
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  const caps = capEff ? BigInt(`0x${capEff}`) : 0n;
  if (!((caps >> 21n) & 1n) || !((caps >> 12n) & 1n)) return 'the single-node cluster needs CAP_SYS_ADMIN and CAP_NET_ADMIN (not an unprivileged container)';
  const b = nodeBinaries();
  for (const f of [b.kubelet, b.controllerManager, b.scheduler, b.proxy, b.pause, b.containerd, path.join(b.cniDir, 'bridge')]) {
    if (!existsSync(f)) return `${f} is missing: run 'bash scripts/controlplane-install.sh --node'`;
  }
  for (const cmd of ['runc', 'ctr', 'iptables', 'conntrack', 'buildah', 'ip']) {
    if (!onPath(cmd)) return `${cmd} is missing: run 'bash scripts/controlplane-install.sh --node'`;
  }
  return undefined;
}

function onPath(cmd: string): boolean {
  const dirs = [...(process.env['PATH'] ?? '').split(':'), '/usr/sbin', '/sbin'];
  return dirs.some((d) => d !== '' && existsSync(path.join(d, cmd)));
}

async function sh(bin: string, args: string[], allowFail = false): Promise<string> {
  try {
    const { stdout } = await execFileP(bin, args, { maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    if (allowFail) return '';
    const e = err as { stderr?: string; message: string };
    throw new Error(`${bin} ${args.join(' ')}: ${e.stderr ?? e.message}`);
  }
}

/** A /24 not on any interface of this machine, numbered N in 10.244.N.0/24 and 10.96.N.0/24. */
async function freeSubnet(): Promise<number> {
  const addrs = await sh('ip', ['-4', '-o', 'addr']);
  const links = await sh('ip', ['-o', 'link']);
  for (let i = 0; i < 50; i++) {
    const n = 1 + Math.floor(Math.random() * 250);
    if (!addrs.includes(`10.244.${n}.`) && !links.includes(`ghbr${n}:`)) return n;
  }
  throw new NodeUnavailableError('no free 10.244.N.0/24 for the pod bridge');
}

export interface NodeClusterOptions {
  /** Options for the embedded control plane (its bind address and service range are the node's). */
  controlPlane?: Omit<ControlPlaneOptions, 'bindAddress' | 'serviceClusterIpRange' | 'baseDir'>;
  /** OCI archives (buildah push oci-archive:...) to import into containerd before the node starts. */
  images?: string[];
}

export class NodeCluster {
  readonly procs = new Map<string, Proc>();
  private constructor(
    readonly dir: string,
    readonly n: number,
    readonly cp: ControlPlane,
  ) {}

  get bridge(): string {
    return `ghbr${this.n}`;
  }
  get gateway(): string {
    return `10.244.${this.n}.1`;
  }
  get podCidr(): string {
    return `10.244.${this.n}.0/24`;
  }
  get serviceCidr(): string {
    return `10.96.${this.n}.0/24`;
  }
  get containerdSocket(): string {
    return path.join(this.dir, 'ctr', 'containerd.sock');
  }
  get kubeconfigPath(): string {
    return this.cp.kubeconfigPath;
  }

  static async start(opts: NodeClusterOptions = {}): Promise<NodeCluster> {
    const why = nodeUnavailableReason();
    if (why) throw new NodeUnavailableError(why);
    const bins = nodeBinaries();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-node-'));
    const n = await freeSubnet();
    const gw = `10.244.${n}.1`;
    // The bridge first, with its gateway address: kube-apiserver binds there.
    await sh('ip', ['link', 'add', 'name', `ghbr${n}`, 'type', 'bridge']);
    let cp: ControlPlane | undefined;
    let node: NodeCluster | undefined;
    try {
      await sh('ip', ['addr', 'add', `${gw}/24`, 'dev', `ghbr${n}`]);
      await sh('ip', ['link', 'set', `ghbr${n}`, 'up']);
      cp = await ControlPlane.start({
        ...opts.controlPlane,
        baseDir: dir,
        bindAddress: gw,
        serviceClusterIpRange: `10.96.${n}.0/24`,
        extraArgs: ['--kubelet-preferred-address-types=InternalIP', ...(opts.controlPlane?.extraArgs ?? [])],
        // Each controller with its own service account, as on a real cluster.
        controllerManager: { serviceAccountCredentials: true },
      });
      node = new NodeCluster(dir, n, cp);
      await node.startContainerd(bins);
      await node.importImage(await pauseArchive(bins));
      for (const img of opts.images ?? []) await node.importImage(img);
      await node.startComponents(bins);
      await node.waitNodeReady(120_000);
      return node;
    } catch (err) {
      if (node) await node.stop();
      else {
        await cp?.stop();
        await sh('ip', ['link', 'del', `ghbr${n}`], true);
        await rm(dir, { recursive: true, force: true });
      }
      throw err;
    }
  }

  private async startContainerd(bins: NodeBinaries): Promise<void> {
    const ctr = path.join(this.dir, 'ctr');
    const cni = path.join(this.dir, 'cni');
    await mkdir(path.join(ctr, 'root'), { recursive: true });
    await mkdir(cni, { recursive: true });
    await writeFile(path.join(ctr, 'config.toml'), `version = 2
root = "${ctr}/root"
state = "${ctr}/state"
[grpc]
  address = "${this.containerdSocket}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${bins.cniDir}"
    conf_dir = "${cni}"
`);
    // No masquerade: pods need only the bridge's gateway, and no pod traffic should leave the machine.
    await writeFile(path.join(cni, '10-gatehouse.conflist'), JSON.stringify({
      cniVersion: '0.4.0',
      name: 'gatehouse',
      plugins: [
        { type: 'bridge', bridge: this.bridge, isGateway: true, ipMasq: false,
          ipam: { type: 'host-local', ranges: [[{ subnet: this.podCidr }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: path.join(this.dir, 'ipam') } },
        { type: 'portmap', capabilities: { portMappings: true } },
        { type: 'loopback' },
      ],
    }));
    this.procs.set('containerd', await startProcess(bins.containerd, ['--config', path.join(ctr, 'config.toml')], path.join(this.dir, 'containerd.log')));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const res = await runCommand('ctr', ['--address', this.containerdSocket, 'version'], { timeoutMs: 5000 });
      if (res.code === 0) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`containerd did not answer on ${this.containerdSocket}; see ${this.dir}/containerd.log`);
  }

  /** Imports an OCI archive into containerd's k8s.io namespace (where the kubelet's CRI looks). */
  async importImage(archive: string): Promise<void> {
    const res = await runCommand('ctr', ['--address', this.containerdSocket, '-n', 'k8s.io', 'images', 'import', archive], { timeoutMs: 300_000 });
    if (res.code !== 0) throw new Error(`ctr images import ${archive}: ${res.stderr}`);
  }

  private async startComponents(bins: NodeBinaries): Promise<void> {
    const kc = this.cp.kubeconfigPath;
    const log = (name: string): string => path.join(this.dir, `${name}.log`);
    this.procs.set('kube-scheduler', await startProcess(bins.scheduler, [
      `--kubeconfig=${kc}`, '--leader-elect=false', '--bind-address=127.0.0.1', '--secure-port=0', '--port=0',
    ], log('kube-scheduler')));
    const kubeletDir = path.join(this.dir, 'kubelet');
    await mkdir(path.join(kubeletDir, 'manifests'), { recursive: true });
    this.procs.set('kubelet', await startProcess(bins.kubelet, [
      `--kubeconfig=${kc}`, '--container-runtime=remote', `--container-runtime-endpoint=unix://${this.containerdSocket}`,
      '--fail-swap-on=false', '--cgroup-driver=cgroupfs', '--cgroups-per-qos=false', '--enforce-node-allocatable=',
      `--root-dir=${kubeletDir}`, `--cert-dir=${path.join(kubeletDir, 'pki')}`, `--hostname-override=${NODE_NAME}`,
      `--pod-infra-container-image=${PAUSE_IMAGE}`, `--address=${this.gateway}`, `--port=${await freePort()}`, '--read-only-port=0',
      `--node-ip=${this.gateway}`, `--pod-manifest-path=${path.join(kubeletDir, 'manifests')}`,
      '--network-plugin=cni', `--cni-bin-dir=${bins.cniDir}`, `--cni-conf-dir=${path.join(this.dir, 'cni')}`,
      '--image-gc-high-threshold=100', '--image-gc-low-threshold=99', '--eviction-hard=', '--healthz-port=0',
    ], log('kubelet')));
    this.procs.set('kube-proxy', await startProcess(bins.proxy, [
      `--kubeconfig=${kc}`, `--hostname-override=${NODE_NAME}`, `--cluster-cidr=${this.podCidr}`, '--proxy-mode=iptables',
      '--bind-address=127.0.0.1', `--metrics-bind-address=127.0.0.1:${await freePort()}`, `--healthz-bind-address=127.0.0.1:${await freePort()}`, '--conntrack-max-per-core=0',
    ], log('kube-proxy')));
  }

  private async waitNodeReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (const [name, p] of this.procs) {
        if (p.child.exitCode !== null) throw new Error(`${name} exited with ${p.child.exitCode}; see ${this.dir}/${name}.log`);
      }
      const res = await this.cp.kubectl(['get', 'node', NODE_NAME, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
      if (res.code === 0 && res.stdout.trim() === 'True') return;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`node ${NODE_NAME} not Ready after ${timeoutMs} ms; see ${this.dir}/kubelet.log`);
  }

  /** Stops everything it started, by pid, then removes its bridge, mounts, iptables chains and files. */
  async stop(): Promise<void> {
    for (const name of ['kube-proxy', 'kubelet', 'kube-scheduler']) await stopProcess(this.procs.get(name));
    if (this.procs.has('containerd')) {
      const tasks = await runCommand('ctr', ['--address', this.containerdSocket, '-n', 'k8s.io', 'tasks', 'ls', '-q'], { timeoutMs: 10_000 });
      for (const t of tasks.stdout.split('\n').filter(Boolean)) {
        await runCommand('ctr', ['--address', this.containerdSocket, '-n', 'k8s.io', 'tasks', 'kill', '-s', 'SIGKILL', t], { timeoutMs: 10_000 });
      }
      await stopProcess(this.procs.get('containerd'));
    }
    // The pods' shims outlive containerd: end those of this node's socket, by pid.
    for (const pid of await pidsWithArg(this.containerdSocket)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    const mounts = (await readFile('/proc/mounts', 'utf8')).split('\n').map((l) => l.split(' ')[1] ?? '')
      .filter((m) => m.startsWith(this.dir + '/')).sort().reverse();
    for (const m of mounts) await sh('umount', ['-l', m], true);
    await sh('ip', ['link', 'del', this.bridge], true);
    await cleanupIptables(nodeBinaries().proxy);
    await this.cp.stop();
    if (!controlPlaneEnv().keepData) await rm(this.dir, { recursive: true, force: true });
  }
}

async function pidsWithArg(arg: string): Promise<number[]> {
  const { readdir } = await import('node:fs/promises');
  const out: number[] = [];
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if ((await readFile(`/proc/${e}/cmdline`, 'utf8')).includes(arg)) out.push(Number(e));
    } catch {
      /* exited */
    }
  }
  return out.filter((p) => p !== process.pid);
}

/** kube-proxy's chains (its --cleanup) and the kubelet's (KUBE-FIREWALL drops non-loopback packets to 127/8). */
async function cleanupIptables(proxyBin: string): Promise<void> {
  await runCommand(proxyBin, ['--cleanup'], { timeoutMs: 30_000 });
  for (const table of ['filter', 'nat', 'mangle']) {
    for (const chain of ['INPUT', 'OUTPUT', 'FORWARD', 'PREROUTING', 'POSTROUTING']) {
      for (let i = 0; i < 10; i++) {
        const r = await runCommand('iptables', ['-t', table, '-D', chain, '-j', 'KUBE-FIREWALL']);
        if (r.code !== 0) break;
      }
    }
    const rules = await sh('iptables', ['-t', table, '-S'], true);
    const chains = rules.split('\n').filter((l) => l.startsWith('-N KUBE-')).map((l) => l.split(' ')[1]!);
    for (const c of chains) await sh('iptables', ['-t', table, '-F', c], true);
    for (const c of chains) await sh('iptables', ['-t', table, '-X', c], true);
  }
}

/** The pause image as an OCI archive, made once with buildah from the static pause binary and cached. */
export async function pauseArchive(bins: NodeBinaries): Promise<string> {
  const out = path.join(controlPlaneEnv().cache, 'node', 'pause-3.2.oci.tar');
  if (existsSync(out)) return out;
  await mkdir(path.dirname(out), { recursive: true });
  // Its own small storage (vfs), apart from the storage `npm run image` uses with whatever driver.
  const store = path.join(path.dirname(out), 'buildah');
  const b = ['--root', path.join(store, 'root'), '--runroot', path.join(store, 'run'), '--storage-driver', 'vfs'];
  const c = (await sh('buildah', [...b, 'from', 'scratch'])).trim();
  try {
    await sh('buildah', [...b, 'copy', c, bins.pause, '/pause']);
    await sh('buildah', [...b, 'config', '--entrypoint', '["/pause"]', c]);
    await sh('buildah', [...b, 'commit', '-q', c, PAUSE_IMAGE]);
  } finally {
    await sh('buildah', [...b, 'rm', c], true);
  }
  await sh('buildah', [...b, 'push', '-q', PAUSE_IMAGE, `oci-archive:${out}.tmp:${PAUSE_IMAGE}`]);
  await sh('mv', [`${out}.tmp`, out]);
  return out;
}

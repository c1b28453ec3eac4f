// `npm run local -- --cluster`: Gatehouse as its users run it, on this machine. Builds the image
// (`npm run image`), starts the single-node cluster (src/controlplane/node.ts: kubelet, containerd,
// kube-proxy, kube-scheduler beside the embedded control plane; root on Linux), installs the chart
// with `helm install --wait` (the local image, two replicas), wires the authorization webhook
// kubeconfig the chart renders into kube-apiserver (webhook and both modes), applies samples/ and
// prints how to act as each sample user. Foreground until Ctrl-C, which stops every process it
// started and removes the bridge, mounts and iptables chains.
//
//   npm run local -- --cluster                     mode webhook
//   npm run local -- --cluster --values my.yaml    any chart values (e.g. authorization.mode: rbac)
//   npm run local -- --cluster --no-samples
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { NodeCluster, nodeUnavailableReason } from '../src/controlplane/node.js';
import { buildImage, GatehouseRelease, type AuthorizationMode } from '../src/controlplane/deploy.js';

function log(msg: string): void {
  process.stderr.write(`[local --cluster] ${msg}\n`);
}

export async function runCluster(root: string, opts: { values: string | undefined; samples: boolean }): Promise<void> {
  const why = nodeUnavailableReason();
  if (why) throw new Error(`--cluster: ${why}`);
  let mode: AuthorizationMode = 'webhook';
  if (opts.values) {
    const doc = yaml.load(readFileSync(opts.values, 'utf8')) as { authorization?: { mode?: AuthorizationMode } } | null;
    mode = doc?.authorization?.mode ?? mode;
  }
  log('building the image (npm run image)');
  const image = await buildImage(root);
  log(`image ${image.repository}:${image.tag} in ${image.seconds.toFixed(0)} s; starting the node`);
  const node = await NodeCluster.start({ images: [image.archive] });
  let stopping = false;
  const stop = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log('stopping the node');
    await node.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  try {
    const rel = new GatehouseRelease(node, path.join(root, 'helm', 'gatehouse'), image);
    log(`node Ready; helm install --wait (authorization mode ${mode})`);
    const secs = await rel.install(mode, opts.values ? ['-f', opts.values] : []);
    log(`both replicas Ready in ${secs.toFixed(0)} s`);
    if (mode !== 'rbac') {
      log('wiring the authorization webhook into kube-apiserver (restart)');
      await rel.wireAuthorizationWebhook();
    }
    if (opts.samples) {
      const samples = path.join(root, 'samples');
      for (let i = 0; ; i++) {
        const res = await node.cp.kubectl(['apply', '-f', samples]);
        if (res.code === 0) break;
        if (i >= 60) throw new Error(`applying samples/: ${res.stderr}`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    const k = `kubectl --kubeconfig ${node.kubeconfigPath}`;
    process.stdout.write(`
Gatehouse is running in pods on a single-node cluster (authorization mode ${mode}, release
${rel.release} in ${rel.namespace}, image ${image.repository}:${image.tag}).

  ${k} get pods -n ${rel.namespace} -o wide
  ${k} logs -n ${rel.namespace} -l app.kubernetes.io/instance=${rel.release} --prefix -f
  ${k} --as alice get pods -n vision-dev            # Active, team vision: researcher there
  ${k} --as bob get pods -n vision-dev              # Pending: denied
  ${k} auth can-i --list --as alice -n vision-dev
  helm --kubeconfig ${node.kubeconfigPath} upgrade ${rel.release} ${rel.chart} -n ${rel.namespace} --reuse-values --set logLevel=debug

Node state and logs: ${node.dir}. Ctrl-C stops everything.
`);
  } catch (err) {
    log((err as Error).message);
    await stop(1);
  }
  await new Promise<never>(() => undefined);
}

export function checkValuesFile(file: string | undefined): void {
  if (file && !existsSync(file)) throw new Error(`--values: no such file ${file}`);
}

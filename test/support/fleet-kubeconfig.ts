// A kubeconfig with several contexts for fleet questions (issue 30): each context its own cluster
// entry and server, all with one control plane's CA and the admin's credentials (taken from its
// kubeconfig), so one control plane can stand for several clusters (directly, or through a
// loopback TCP proxy per context), and a context can point at a port where nothing listens.
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import yaml from 'js-yaml';

export interface FleetContext {
  /** The context's name (and its cluster entry's, `cluster-<name>` unless `cluster` says). */
  name: string;
  server: string;
  cluster?: string;
}

interface KubeconfigDoc {
  clusters: Array<{ name: string; cluster: Record<string, unknown> }>;
  users: Array<{ name: string; user: Record<string, unknown> }>;
}

/** Writes `file`: one context per entry, in order, with `from`'s CA and first user; the first is current. */
export async function writeFleetKubeconfig(from: string, file: string, contexts: readonly FleetContext[]): Promise<void> {
  const base = yaml.load(await readFile(from, 'utf8')) as KubeconfigDoc;
  const cluster = base.clusters[0]?.cluster ?? {};
  const user = base.users[0];
  if (!user) throw new Error(`${from}: no user`);
  const trust = { ...cluster };
  delete trust['server'];
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: contexts.map((c) => ({ name: c.cluster ?? `cluster-${c.name}`, cluster: { ...trust, server: c.server } })),
    users: [user],
    contexts: contexts.map((c) => ({ name: c.name, context: { cluster: c.cluster ?? `cluster-${c.name}`, user: user.name } })),
    'current-context': contexts[0]?.name ?? '',
  };
  await writeFile(file, yaml.dump(doc), { mode: 0o600 });
}

/** A loopback port with nothing listening on it (bound, then released): connections are refused. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// Helpers for the chart tests: where the chart is, running the helm binary, and reading what
// `helm template` renders.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { runCommand, type KubectlResult } from '../../src/controlplane/controlplane.js';
import { controlPlaneEnv } from '../../src/config.js';

/** helm/gatehouse, found from this module's location (test/support or dist/test/support). */
export function chartDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'helm', 'gatehouse');
    if (existsSync(path.join(candidate, 'Chart.yaml'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('helm/gatehouse not found above ' + fileURLToPath(import.meta.url));
}

export function repoRoot(): string {
  return path.dirname(path.dirname(chartDir()));
}

export function helm(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<KubectlResult> {
  return runCommand(controlPlaneEnv().helm, args, { input: opts.input, timeoutMs: opts.timeoutMs ?? 120_000 });
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

/** A rendered chart: every document, and a finder that fails the test when an object is missing. */
export class Rendered {
  constructor(readonly objects: K8sObject[]) {}

  all(kind: string): K8sObject[] {
    return this.objects.filter((o) => o.kind === kind);
  }

  get<T = K8sObject>(kind: string, name?: string): T {
    const found = this.objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
    if (found.length !== 1) {
      throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
    }
    return found[0] as T;
  }
}

export function parseManifests(text: string): K8sObject[] {
  return yaml.loadAll(text).filter((d): d is K8sObject => d !== null && typeof d === 'object');
}

export const RELEASE = 'gh';
export const NAMESPACE = 'gatehouse-system';

/** `helm template` with the default release name and namespace; throws with helm's stderr. */
export async function renderChart(args: string[] = []): Promise<Rendered> {
  const res = await helm(['template', RELEASE, chartDir(), '--namespace', NAMESPACE, ...args]);
  if (res.code !== 0) throw new Error(`helm template failed (${res.code}): ${res.stderr}`);
  return new Rendered(parseManifests(res.stdout));
}

// examples/fleet/ as far as the tools here reach (issue 30, docs/fleet.md). Argo CD and Flux are
// not installed, so their controllers do not run; what they would compute is computed with the
// same engines where we have them:
// - the ApplicationSet's templatePatch is a Go template with sprig functions: Helm renders Go
//   templates with sprig too, so a throwaway chart renders it for each example cluster Secret, and
//   the values it yields are given to the Gatehouse chart with `helm template`;
// - Flux's post-build substitution (`${var}` from `postBuild.substitute`) is applied to the
//   HelmRelease for each cluster's Kustomization, and its values are given to the chart the same way.
// Either way the operator's configuration is then read by parseConfig, the operator's own reader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { parseConfig } from '../../../src/config.js';
import { helm, renderChart, repoRoot, type Rendered } from '../../support/helm.js';

const FULLNAME = 'gh-gatehouse';
const fleetDir = (): string => path.join(repoRoot(), 'examples', 'fleet');

interface ClusterSecret {
  metadata: { name: string; labels: Record<string, string> };
  stringData: { name: string; server: string };
}

function docs(file: string): unknown[] {
  return yaml.loadAll(readFileSync(path.join(fleetDir(), file), 'utf8')).filter((d) => d !== null);
}

/** What Argo CD's cluster generator hands the template for one cluster Secret (goTemplate mode). */
function generatorParams(secret: ClusterSecret): Record<string, unknown> {
  return {
    name: secret.stringData.name,
    nameNormalized: secret.stringData.name,
    server: secret.stringData.server,
    metadata: { labels: secret.metadata.labels, annotations: {} },
  };
}

/** Renders a Go template with Helm's engine: the parameters become the template's dot. */
async function renderGoTemplate(template: string, params: Record<string, unknown>): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gh-appset-'));
  try {
    mkdirSync(path.join(dir, 'templates'));
    writeFileSync(path.join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: appset-patch\nversion: 0.0.0\n');
    // `with .Values` makes the generator's parameters the dot, as ApplicationSet does.
    writeFileSync(path.join(dir, 'templates', 'patch.yaml'), `{{- with .Values }}\n${template}\n{{- end }}\n`);
    writeFileSync(path.join(dir, 'params.yaml'), yaml.dump(params));
    const res = await helm(['template', 'x', dir, '--values', path.join(dir, 'params.yaml')]);
    assert.equal(res.code, 0, `rendering the templatePatch failed: ${res.stderr}`);
    return res.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The chart rendered with `values`, and the operator's configuration as the operator reads it. */
async function chartWith(values: unknown): Promise<{ rendered: Rendered; cluster: unknown }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gh-fleet-values-'));
  try {
    const file = path.join(dir, 'values.yaml');
    writeFileSync(file, yaml.dump(values));
    const rendered = await renderChart(['--values', file]);
    const cm = rendered.get<{ data: Record<string, string> }>('ConfigMap', `${FULLNAME}-config`);
    const cfg = parseConfig(yaml.load(cm.data['config.yaml'] ?? ''), 'rendered config.yaml');
    return { rendered, cluster: cfg.cluster };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const expected: Record<string, { name: string; labels: Record<string, string> }> = {
  'gpu-eu-1': { name: 'gpu-eu-1', labels: { region: 'eu', tier: 'prod', gpu: 'h100' } },
  'gpu-us-1': { name: 'gpu-us-1', labels: { region: 'us', tier: 'dev' } },
};

test('Argo CD: the ApplicationSet hands each cluster its name and fleet labels, and the chart passes them to the operator', async () => {
  const [appset] = docs('argocd/applicationset-gatehouse.yaml') as Array<{ spec: { templatePatch: string; goTemplate: boolean } }>;
  assert.equal(appset!.spec.goTemplate, true);
  const secrets = docs('argocd/clusters.yaml') as ClusterSecret[];
  assert.equal(secrets.length, 2);
  for (const secret of secrets) {
    const out = await renderGoTemplate(appset!.spec.templatePatch, generatorParams(secret));
    const patch = yaml.load(out) as { spec: { source: { helm: { valuesObject: { cluster: unknown } } } } };
    const values = patch.spec.source.helm.valuesObject;
    // Only the fleet.gatehouse.dev/* labels, prefix removed, and not the `managed` marker.
    assert.deepEqual(values.cluster, expected[secret.metadata.name], `values for ${secret.metadata.name}`);
    const { cluster } = await chartWith(values);
    assert.deepEqual(cluster, expected[secret.metadata.name]);
  }
});

test('Argo CD: a label outside the fleet prefix is not passed, and a value that needs quoting stays a string', async () => {
  const [appset] = docs('argocd/applicationset-gatehouse.yaml') as Array<{ spec: { templatePatch: string } }>;
  const out = await renderGoTemplate(appset!.spec.templatePatch, generatorParams({
    metadata: { name: 'x', labels: { 'argocd.argoproj.io/secret-type': 'cluster', 'fleet.gatehouse.dev/managed': 'true', 'fleet.gatehouse.dev/zone': '1', team: 'infra' } },
    stringData: { name: 'lab-1', server: 'https://lab-1:6443' },
  }));
  const values = (yaml.load(out) as { spec: { source: { helm: { valuesObject: { cluster: unknown } } } } }).spec.source.helm.valuesObject;
  assert.deepEqual(values.cluster, { name: 'lab-1', labels: { zone: '1' } });
});

test('Flux: each cluster Kustomization fills in the shared HelmRelease, and the chart passes the identity to the operator', async () => {
  const [release] = docs('flux/base/helmrelease.yaml');
  const template = yaml.dump((release as { spec: { values: unknown } }).spec.values);
  for (const name of Object.keys(expected)) {
    const [gatehouse] = docs(`flux/clusters/${name}/gatehouse.yaml`) as Array<{ spec: { path: string; postBuild: { substitute: Record<string, string> } } }>;
    assert.equal(path.normalize(gatehouse!.spec.path), path.normalize('./examples/fleet/flux/base'), 'the Kustomization points at the shared base');
    const vars = gatehouse!.spec.postBuild.substitute;
    const unknown: string[] = [];
    // Flux's syntax: ${name}; a variable with no value would be left empty by Flux: refuse it here.
    const filled = template.replace(/\$\{([a-z_][a-z0-9_]*)\}/gi, (_m, v: string) => {
      if (!(v in vars)) unknown.push(v);
      return vars[v] ?? '';
    });
    assert.deepEqual(unknown, [], `variables ${name}'s Kustomization does not set`);
    const { cluster } = await chartWith(yaml.load(filled));
    const want = expected[name]!;
    assert.deepEqual(cluster, { name: want.name, labels: { region: want.labels.region, tier: want.labels.tier } });
  }
});

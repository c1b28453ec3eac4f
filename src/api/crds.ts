// Reads crds/*.yaml, the single source of truth for the four kinds' schemas. The API server
// validation, the chart's copies and the tests all start from here.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { GROUP, VERSION, type GatehouseKind } from './types.js';

export interface CrdDocument {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; singular: string; shortNames?: string[]; categories?: string[] };
    versions: Array<{
      name: string;
      served: boolean;
      storage: boolean;
      subresources?: Record<string, unknown>;
      additionalPrinterColumns?: Array<{ name: string; type: string; jsonPath: string }>;
      schema: { openAPIV3Schema: JsonSchema };
    }>;
  };
}

export interface JsonSchema {
  type?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  required?: string[];
  enum?: unknown[];
  [key: string]: unknown;
}

/** The crds/ folder, found from this module's own location (src/api or dist/src/api). */
export function crdDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'crds');
    try {
      if (readdirSync(candidate).some((f) => f.endsWith('.yaml'))) return candidate;
    } catch {
      /* keep walking up */
    }
    dir = path.dirname(dir);
  }
  throw new Error('crds/ folder not found above ' + fileURLToPath(import.meta.url));
}

export function loadCrds(dir: string = crdDir()): CrdDocument[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => yaml.load(readFileSync(path.join(dir, f), 'utf8')) as CrdDocument);
}

/** The v1alpha1 openAPIV3Schema of one kind. */
export function schemaOf(kind: GatehouseKind, crds: CrdDocument[] = loadCrds()): JsonSchema {
  const crd = crds.find((c) => c.spec.group === GROUP && c.spec.names.kind === kind);
  const version = crd?.spec.versions.find((v) => v.name === VERSION);
  if (!version) throw new Error(`no CRD for ${kind}.${GROUP}/${VERSION}`);
  return version.schema.openAPIV3Schema;
}

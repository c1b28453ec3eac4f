// The API server's own checks of a custom object before any validating webhook sees it: the CRD's
// openAPIV3Schema (crds/*.yaml, the one source) and the object name's DNS-1123 rule. lint runs
// them first and, as the API server does, goes no further with an object that fails them.
import { Ajv, type ValidateFunction } from 'ajv';
import { schemaOf, type JsonSchema } from '../api/crds.js';
import type { GatehouseKind } from '../api/types.js';
import { dns1123SubdomainProblem } from '../admission/names.js';

export interface SchemaError {
  path: string;
  message: string;
}

/** Go's RE2 writes a code point `\x{061C}`; JavaScript's `u` regular expressions write `\u{061C}`. */
function jsPatterns(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(jsPatterns);
  if (typeof s !== 'object' || s === null) return s;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    if (k.startsWith('x-kubernetes-')) continue;
    out[k] = k === 'pattern' && typeof v === 'string' ? v.replace(/\\x\{([0-9A-Fa-f]+)\}/g, '\\u{$1}') : jsPatterns(v);
  }
  return out;
}

let ajv: Ajv | undefined;
const compiled = new Map<GatehouseKind, ValidateFunction>();

function validatorFor(kind: GatehouseKind): ValidateFunction {
  let v = compiled.get(kind);
  if (!v) {
    ajv ??= new Ajv({ allErrors: true, strict: false, unicodeRegExp: true })
      // The two formats the CRDs use; int64 only ever marks integers the API server sets.
      .addFormat('date-time', { type: 'string', validate: (s: string) => /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s)) })
      .addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
    v = ajv.compile(jsPatterns(schemaOf(kind)) as JsonSchema);
    compiled.set(kind, v);
  }
  return v;
}

/** ajv's `/spec/scope/teams/0` as admission writes paths: `spec.scope.teams[0]`. */
function fieldPath(pointer: string): string {
  return pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

/** What the API server refuses in `object` (a Gatehouse kind) before admission; empty when nothing. */
export function schemaErrors(kind: GatehouseKind, object: Record<string, unknown>): SchemaError[] {
  const out: SchemaError[] = [];
  const meta = object['metadata'];
  const name = typeof meta === 'object' && meta !== null ? (meta as Record<string, unknown>)['name'] : undefined;
  if (typeof name === 'string') {
    const problem = dns1123SubdomainProblem(name);
    if (problem) out.push({ path: 'metadata.name', message: `${JSON.stringify(name)} ${problem}` });
  }
  const validate = validatorFor(kind);
  if (!validate(object)) {
    for (const e of validate.errors ?? []) {
      // oneOf's own error says which alternatives matched; its branches' errors only repeat it.
      if (e.schemaPath.includes('/oneOf/')) continue;
      const allowed = e.keyword === 'enum' ? (e.params as { allowedValues?: unknown[] }).allowedValues : undefined;
      out.push({ path: fieldPath(e.instancePath), message: `${e.message ?? 'is invalid'}${allowed ? `: ${allowed.map((v) => JSON.stringify(v)).join(', ')}` : ''}` });
    }
  }
  return out;
}

// An in-memory GatehouseClient for unit tests of the CLI's commands: no API server, same errors.
import type { GatehouseKind, Namespace } from '../../src/api/types.js';
import type { AccessRequest, Requester } from '../../src/authz/types.js';
import { translateError } from '../../src/client/errors.js';
import type { GatehouseClient, ObjectOf, SecretRequest, ServerAnswer } from '../../src/client/kube.js';

function apiError(code: number, reason: string, message: string, name?: string): Error {
  return Object.assign(new Error('HTTP ' + code), { code, body: JSON.stringify({ kind: 'Status', code, reason, message, ...(name ? { details: { name } } : {}) }) });
}

export interface FakeOptions {
  forbid?: (verb: string, kind: GatehouseKind | 'Namespace') => string | undefined;
  namespaces?: Namespace[];
  whoAmI?: Requester;
  serverAnswer?: (req: AccessRequest) => ServerAnswer;
}

export class FakeClient implements GatehouseClient {
  readonly server = 'https://fake:6443';
  readonly namespace: string | undefined = undefined;
  readonly store = new Map<GatehouseKind, Map<string, unknown>>();
  readonly calls: string[] = [];
  private rv = 1;
  constructor(private readonly opts: FakeOptions = {}) {}

  seed(kind: GatehouseKind, ...objs: Array<{ metadata: { name: string; creationTimestamp?: string }; spec?: unknown }>): this {
    for (const o of objs) this.bucket(kind).set(o.metadata.name, structuredClone({ ...o, metadata: { ...o.metadata, resourceVersion: String(this.rv++) } }));
    return this;
  }
  private bucket(kind: GatehouseKind): Map<string, unknown> {
    let b = this.store.get(kind);
    if (!b) this.store.set(kind, (b = new Map()));
    return b;
  }
  private check(verb: string, kind: GatehouseKind | 'Namespace', name?: string): void {
    this.calls.push(`${verb} ${kind}${name ? ' ' + name : ''}`);
    const refusal = this.opts.forbid?.(verb, kind);
    if (refusal) throw translateError(apiError(403, 'Forbidden', refusal), { action: verb, kind });
  }
  private notFound(kind: GatehouseKind, name: string): never {
    throw translateError(apiError(404, 'NotFound', `${kind.toLowerCase()}s.iam.gatehouse.dev "${name}" not found`, name), { action: 'get', kind, name });
  }
  async list<K extends GatehouseKind>(kind: K): Promise<Array<ObjectOf<K>>> {
    this.check('list', kind);
    return [...this.bucket(kind).values()].map((o) => structuredClone(o)) as Array<ObjectOf<K>>;
  }
  async get<K extends GatehouseKind>(kind: K, name: string): Promise<ObjectOf<K>> {
    this.check('get', kind, name);
    const o = this.bucket(kind).get(name);
    if (!o) this.notFound(kind, name);
    return structuredClone(o) as ObjectOf<K>;
  }
  async create<K extends GatehouseKind>(kind: K, obj: ObjectOf<K>): Promise<ObjectOf<K>> {
    this.check('create', kind, obj.metadata.name);
    if (this.bucket(kind).has(obj.metadata.name)) {
      throw translateError(apiError(409, 'AlreadyExists', `${kind.toLowerCase()}s.iam.gatehouse.dev "${obj.metadata.name}" already exists`, obj.metadata.name), { action: 'create', kind });
    }
    this.seed(kind, { ...obj, metadata: { ...obj.metadata, creationTimestamp: '2026-01-01T00:00:00Z' } });
    return structuredClone(this.bucket(kind).get(obj.metadata.name)) as ObjectOf<K>;
  }
  async mergePatch<K extends GatehouseKind>(kind: K, name: string, patch: Record<string, unknown>): Promise<ObjectOf<K>> {
    this.check('patch', kind, name);
    const cur = this.bucket(kind).get(name) as { metadata: { resourceVersion: string }; spec: Record<string, unknown> } | undefined;
    if (!cur) this.notFound(kind, name);
    const rv = (patch['metadata'] as { resourceVersion?: string } | undefined)?.resourceVersion;
    if (rv && rv !== cur.metadata.resourceVersion) throw translateError(apiError(409, 'Conflict', 'the object has been modified'), { action: 'patch', kind, name });
    const next = { ...cur, metadata: { ...cur.metadata, resourceVersion: String(this.rv++) }, spec: { ...cur.spec, ...(patch['spec'] as object) } };
    this.bucket(kind).set(name, next);
    return structuredClone(next) as unknown as ObjectOf<K>;
  }
  async delete(kind: GatehouseKind, name: string): Promise<void> {
    this.check('delete', kind, name);
    if (!this.bucket(kind).delete(name)) this.notFound(kind, name);
  }
  async listNamespaces(): Promise<Namespace[]> {
    this.check('list', 'Namespace');
    return this.opts.namespaces ?? [];
  }
  async subjectAccessReview(req: AccessRequest): Promise<ServerAnswer> {
    this.calls.push('create SubjectAccessReview');
    if (!this.opts.serverAnswer) throw translateError(apiError(403, 'Forbidden', 'cannot create subjectaccessreviews'), { action: 'sar', kind: 'SubjectAccessReview' });
    return this.opts.serverAnswer(req);
  }
  async whoAmI(): Promise<Requester | undefined> {
    return this.opts.whoAmI;
  }
  /** ConfigMaps and Secrets by `namespace/name`, for the credential commands. */
  readonly configMaps = new Map<string, Record<string, string>>();
  readonly secrets = new Map<string, SecretRequest & { annotations: Record<string, string> }>();
  async readConfigMap(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    this.calls.push(`get ConfigMap ${namespace}/${name}`);
    return this.configMaps.get(`${namespace}/${name}`);
  }
  async createSecret(namespace: string, secret: SecretRequest): Promise<string> {
    const name = `${secret.generateName}${this.rv++}`;
    this.calls.push(`create Secret ${namespace}/${name}`);
    this.secrets.set(`${namespace}/${name}`, { ...structuredClone(secret), annotations: {} });
    return name;
  }
  async readSecretAnnotations(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    return this.secrets.get(`${namespace}/${name}`)?.annotations;
  }
  async deleteSecret(namespace: string, name: string): Promise<void> {
    this.calls.push(`delete Secret ${namespace}/${name}`);
    this.secrets.delete(`${namespace}/${name}`);
  }
}

/** Runs the CLI in-process against a fake client; returns what a subprocess would. */
export async function runFake(
  run: (argv: string[], deps: import('../../src/cli/run.js').CliDeps) => Promise<number>,
  argv: string[],
  client: GatehouseClient,
  opts: { now?: number; files?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    now: () => opts.now ?? Date.parse('2026-01-02T00:00:00Z'),
    readFile: (f) => {
      const text = opts.files?.[f];
      if (text === undefined) throw new Error(`ENOENT: no such file ${f}`);
      return text;
    },
    makeClient: () => client,
  });
  return { code, stdout, stderr };
}

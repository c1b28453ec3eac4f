// The plugin's only contact with the API server: the caller's own kubeconfig identity, loaded the
// kubectl way, and the few calls the commands need. Commands depend on the GatehouseClient
// interface, so unit tests pass an in-memory fake.
import {
  KubeConfig,
  CustomObjectsApi,
  CoreV1Api,
  AuthorizationV1Api,
  AuthenticationV1Api,
  PatchStrategy,
  setHeaderOptions,
  type ConfigurationOptions,
} from '@kubernetes/client-node';
import { REQUEST_KIND, REQUEST_PATH, REQUEST_PLURAL, type AccessRequestObject } from '../requests/types.js';
import { GROUP, VERSION, PLURALS, type GatehouseKind, type User, type Role, type Team, type RoleBinding, type Namespace } from '../api/types.js';
import type { AccessRequest, Requester } from '../authz/types.js';
import { translateError, asApiFailure, usageError } from './errors.js';
import { watchKind } from './watch.js';
import type { EventLike } from './review.js';

export type ObjectOf<K extends GatehouseKind> = K extends 'User' ? User : K extends 'Role' ? Role : K extends 'Team' ? Team : RoleBinding;

export interface ServerAnswer {
  allowed: boolean;
  denied: boolean;
  reason?: string;
  evaluationError?: string;
}

export interface GatehouseClient {
  /** The API server's URL, for messages. */
  readonly server: string;
  /** The kubeconfig context's namespace, if it names one. */
  readonly namespace: string | undefined;
  list<K extends GatehouseKind>(kind: K): Promise<Array<ObjectOf<K>>>;
  get<K extends GatehouseKind>(kind: K, name: string): Promise<ObjectOf<K>>;
  create<K extends GatehouseKind>(kind: K, obj: ObjectOf<K>): Promise<ObjectOf<K>>;
  /** JSON merge patch (RFC 7386). */
  mergePatch<K extends GatehouseKind>(kind: K, name: string, patch: Record<string, unknown>): Promise<ObjectOf<K>>;
  delete(kind: GatehouseKind, name: string): Promise<void>;
  listNamespaces(): Promise<Namespace[]>;
  /** authorization.k8s.io/v1 SubjectAccessReview: the API server's whole authorizer chain. */
  subjectAccessReview(req: AccessRequest): Promise<ServerAnswer>;
  /** Who the kubeconfig identity is, when the cluster can say (SelfSubjectReview, 1.27+). */
  whoAmI(): Promise<Requester | undefined>;
  /** A ConfigMap's data; undefined when it does not exist. */
  readConfigMap(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  /** Creates a Secret (credential requests); returns its generated name. */
  createSecret(namespace: string, secret: SecretRequest): Promise<string>;
  /** A Secret's annotations (the CLI reads only its own request back); undefined when gone. */
  readSecretAnnotations(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  deleteSecret(namespace: string, name: string): Promise<void>;
  /**
   * Watches a kind as this identity and reports each event's type and object name until the
   * returned stop function is called; the console turns these into server-sent events.
   */
  /** core/v1 Events of a namespace (`kubectl gatehouse history` reads the operator's). */
  listEvents?(namespace: string): Promise<EventLike[]>;
  watch?(kind: GatehouseKind, onEvent: (type: string, name: string) => void, onEnd: (err: unknown) => void): () => void;
  /** AccessRequests (src/client/requests.ts); absent in clients that cannot reach them. */
  requests?: RequestsApi;
}

/** AccessRequests as this identity. */
export interface RequestsApi {
  list(): Promise<AccessRequestObject[]>;
  get(name: string): Promise<AccessRequestObject>;
  create(obj: AccessRequestObject): Promise<AccessRequestObject>;
  mergePatch(name: string, patch: Record<string, unknown>): Promise<AccessRequestObject>;
  delete(name: string): Promise<void>;
  watch?(onEvent: (type: string, name: string) => void, onEnd: (err: unknown) => void): () => void;
}

/** A Secret the CLI creates: a name prefix, labels and string data. */
export interface SecretRequest {
  generateName: string;
  labels: Record<string, string>;
  stringData: Record<string, string>;
}

export interface ConnectionOptions {
  kubeconfig?: string;
  context?: string;
  /** Impersonation for every call (kubectl's --as / --as-group). */
  as?: string;
  asGroups?: readonly string[];
}

/** One context of a kubeconfig, as `--contexts` / `--all-contexts` (issue 30) see it. */
export interface KubeContextInfo {
  name: string;
  /** The kubeconfig's name for the context's cluster entry (not the cluster's own name). */
  cluster: string;
  server: string;
  namespace?: string;
}

function readKubeConfig(opts: Pick<ConnectionOptions, 'kubeconfig'>): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    throw usageError(`cannot load kubeconfig${opts.kubeconfig ? ` ${opts.kubeconfig}` : ''}: ${(err as Error).message}`);
  }
  return kc;
}

/** The kubeconfig's contexts in its own order (KUBECONFIG's files merged, or --kubeconfig's one file). */
export function listKubeContexts(opts: Pick<ConnectionOptions, 'kubeconfig'>): KubeContextInfo[] {
  const kc = readKubeConfig(opts);
  return kc.getContexts().map((c) => ({
    name: c.name,
    cluster: c.cluster,
    server: kc.getCluster(c.cluster)?.server ?? '<unknown>',
    ...(c.namespace ? { namespace: c.namespace } : {}),
  }));
}

/** KUBECONFIG (a path list, merged) or ~/.kube/config, unless --kubeconfig names one file; then --context. */
export function loadKubeConfig(opts: ConnectionOptions): KubeConfig {
  const kc = readKubeConfig(opts);
  if (opts.context) {
    if (!kc.getContextObject(opts.context)) {
      const known = kc.getContexts().map((c) => c.name);
      throw usageError(`context ${JSON.stringify(opts.context)} not found in kubeconfig (contexts: ${known.join(', ') || 'none'})`);
    }
    kc.setCurrentContext(opts.context);
  }
  if (!kc.getCurrentCluster()) throw usageError('no current cluster in kubeconfig: set KUBECONFIG, --kubeconfig or --context');
  return kc;
}

export function createKubeClient(opts: ConnectionOptions): GatehouseClient {
  return clientFromKubeConfig(loadKubeConfig(opts), opts);
}

/** A client for an already loaded kubeconfig (the console's in-operator mode builds one per bearer token). */
export function clientFromKubeConfig(kc: KubeConfig, opts: Pick<ConnectionOptions, 'as' | 'asGroups'> = {}): GatehouseClient {
  const server = kc.getCurrentCluster()?.server ?? '<unknown>';
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const authz = kc.makeApiClient(AuthorizationV1Api);
  const authn = kc.makeApiClient(AuthenticationV1Api);

  // The generated client keeps headers in a map, so only one Impersonate-Group header fits.
  if ((opts.asGroups?.length ?? 0) > 1) throw usageError('only one --as-group is supported for impersonated API calls');
  if (opts.asGroups?.length && !opts.as) throw usageError('--as-group needs --as');
  let base: ConfigurationOptions | undefined;
  if (opts.as) base = setHeaderOptions('Impersonate-User', opts.as);
  const group = opts.asGroups?.[0];
  if (group) base = setHeaderOptions('Impersonate-Group', group, base);
  const withOpts = (extra?: ConfigurationOptions): ConfigurationOptions | undefined => {
    if (!extra) return base;
    if (!base) return extra;
    return { ...extra, middleware: [...(base.middleware ?? []), ...(extra.middleware ?? [])], middlewareMergeStrategy: 'append' };
  };
  const gv = (kind: GatehouseKind) => ({ group: GROUP, version: VERSION, plural: PLURALS[kind] });
  const wrap = async <T>(action: string, ctx: { kind?: GatehouseKind | 'Namespace' | 'SubjectAccessReview'; name?: string }, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (err) {
      throw translateError(err, { action, server, ...ctx });
    }
  };
  const singular = (kind: GatehouseKind) => kind.toLowerCase();
  const rq = { group: GROUP, version: VERSION, plural: REQUEST_PLURAL };

  return {
    server,
    namespace: kc.getContextObject(kc.getCurrentContext())?.namespace || undefined,
    list: (kind) =>
      wrap(`list ${PLURALS[kind]}`, { kind }, async () => {
        const res = (await custom.listClusterCustomObject(gv(kind), withOpts())) as { items?: unknown[] };
        return (res.items ?? []) as never;
      }),
    get: (kind, name) =>
      wrap(`get ${singular(kind)} ${name}`, { kind, name }, async () => (await custom.getClusterCustomObject({ ...gv(kind), name }, withOpts())) as never),
    create: (kind, obj) =>
      wrap(`create ${singular(kind)} ${obj.metadata.name}`, { kind, name: obj.metadata.name }, async () =>
        (await custom.createClusterCustomObject({ ...gv(kind), body: { apiVersion: `${GROUP}/${VERSION}`, kind, ...obj } }, withOpts())) as never),
    mergePatch: (kind, name, patch) =>
      wrap(`change ${singular(kind)} ${name}`, { kind, name }, async () =>
        (await custom.patchClusterCustomObject({ ...gv(kind), name, body: patch }, withOpts(setHeaderOptions('Content-Type', PatchStrategy.MergePatch)))) as never),
    delete: (kind, name) =>
      wrap(`delete ${singular(kind)} ${name}`, { kind, name }, async () => {
        await custom.deleteClusterCustomObject({ ...gv(kind), name }, withOpts());
      }),
    listNamespaces: () =>
      wrap('list namespaces', { kind: 'Namespace' }, async () => {
        const res = await core.listNamespace({}, withOpts());
        return res.items.map((ns) => ({ metadata: { name: ns.metadata?.name ?? '', ...(ns.metadata?.labels ? { labels: ns.metadata.labels } : {}) } }));
      }),
    subjectAccessReview: (req) =>
      wrap('create a SubjectAccessReview', { kind: 'SubjectAccessReview' }, async () => {
        const res = await authz.createSubjectAccessReview(
          {
            body: {
              apiVersion: 'authorization.k8s.io/v1',
              kind: 'SubjectAccessReview',
              spec: {
                user: req.user,
                groups: [...req.groups],
                ...(req.resource ? { resourceAttributes: { ...req.resource } } : {}),
                ...(req.nonResource ? { nonResourceAttributes: { ...req.nonResource } } : {}),
              },
            },
          },
          withOpts(),
        );
        const st = res.status;
        return {
          allowed: st?.allowed ?? false,
          denied: st?.denied ?? false,
          ...(st?.reason ? { reason: st.reason } : {}),
          ...(st?.evaluationError ? { evaluationError: st.evaluationError } : {}),
        };
      }),
    readConfigMap: (namespace, name) =>
      wrap(`read configmap ${namespace}/${name}`, {}, async () => {
        try {
          return (await core.readNamespacedConfigMap({ namespace, name }, withOpts())).data ?? {};
        } catch (err) {
          if (asApiFailure(err)?.status === 404) return undefined;
          throw err;
        }
      }),
    createSecret: (namespace, secret) =>
      wrap(`create a secret in ${namespace}`, {}, async () => {
        const res = await core.createNamespacedSecret({
          namespace,
          body: { apiVersion: 'v1', kind: 'Secret', metadata: { generateName: secret.generateName, labels: secret.labels }, type: 'Opaque', stringData: secret.stringData },
        }, withOpts());
        return res.metadata?.name ?? '';
      }),
    readSecretAnnotations: (namespace, name) =>
      wrap(`read secret ${namespace}/${name}`, {}, async () => {
        try {
          return (await core.readNamespacedSecret({ namespace, name }, withOpts())).metadata?.annotations ?? {};
        } catch (err) {
          if (asApiFailure(err)?.status === 404) return undefined;
          throw err;
        }
      }),
    deleteSecret: (namespace, name) =>
      wrap(`delete secret ${namespace}/${name}`, {}, async () => {
        try {
          await core.deleteNamespacedSecret({ namespace, name }, withOpts());
        } catch (err) {
          if (asApiFailure(err)?.status !== 404) throw err;
        }
      }),
    listEvents: (namespace) =>
      wrap(`list events in namespace ${namespace}`, {}, async () => (await core.listNamespacedEvent({ namespace }, withOpts())).items as unknown as EventLike[]),
    watch: (kind, onEvent, onEnd) =>
      watchKind(kc, `/apis/${GROUP}/${VERSION}/${PLURALS[kind]}`, { ...(opts.as ? { 'Impersonate-User': opts.as } : {}), ...(group ? { 'Impersonate-Group': group } : {}) }, onEvent, onEnd),
    requests: {
      list: () =>
        wrap('list accessrequests', {}, async () => ((await custom.listClusterCustomObject(rq, withOpts())) as { items?: AccessRequestObject[] }).items ?? []),
      get: (name) => wrap(`get accessrequest ${name}`, { name }, async () => (await custom.getClusterCustomObject({ ...rq, name }, withOpts())) as AccessRequestObject),
      create: (obj) =>
        wrap('create an accessrequest', {}, async () =>
          (await custom.createClusterCustomObject({ ...rq, body: { apiVersion: `${GROUP}/${VERSION}`, kind: REQUEST_KIND, ...obj } }, withOpts())) as AccessRequestObject),
      mergePatch: (name, patch) =>
        wrap(`change accessrequest ${name}`, { name }, async () =>
          (await custom.patchClusterCustomObject({ ...rq, name, body: patch }, withOpts(setHeaderOptions('Content-Type', PatchStrategy.MergePatch)))) as AccessRequestObject),
      delete: (name) => wrap(`delete accessrequest ${name}`, { name }, async () => {
        await custom.deleteClusterCustomObject({ ...rq, name }, withOpts());
      }),
      watch: (onEvent, onEnd) =>
        watchKind(kc, REQUEST_PATH, { ...(opts.as ? { 'Impersonate-User': opts.as } : {}), ...(group ? { 'Impersonate-Group': group } : {}) }, onEvent, onEnd),
    },
    whoAmI: async () => {
      try {
        const res = await authn.createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } }, withOpts());
        const info = res.status?.userInfo;
        if (!info?.username) return undefined;
        return { user: info.username, groups: info.groups ?? [], ...(info.uid ? { uid: info.uid } : {}) };
      } catch (err) {
        // Before Kubernetes 1.27 (and where it is forbidden) the cluster cannot say; the caller asks for --as.
        if (asApiFailure(err)) return undefined;
        throw translateError(err, { action: 'ask who you are (SelfSubjectReview)', server });
      }
    },
  };
}

// The credential Secrets in the operator's namespace: an informer keeps every credential Secret in
// memory (so verifying a token needs no API call), and mutate() changes one user's Secret with
// optimistic concurrency (read, change, write with the resourceVersion, again on a conflict), so
// replicas racing to redeem one invitation cannot both succeed. Secrets are told apart by the label
// iam.gatehouse.dev/credentials: `user` (a user's hashes) or `request` (an invitation or
// revocation the CLI asks for); nothing else in the namespace is read.
import { GROUP, type ObjectMeta } from '../api/types.js';
import type { Logger } from '../log.js';
import type { Clock } from '../controller/clock.js';
import { createInformer, type Informer, type KubeObject, type WatchSettings } from '../controller/informer.js';
import { isConflict, isNotFound, type KubeClient } from '../controller/kube.js';
import type { CachedRecord } from './authenticate.js';
import { credentialSecretName, decodeCredentials, encodeCredentials, type UserCredentials } from './records.js';

export const CREDENTIALS_LABEL = `${GROUP}/credentials`;
export const USER_ANNOTATION = `${GROUP}/user`;
export const SECRET_TYPE = `${GROUP}/credentials`;

/** A Secret as the informer keeps it: the API's object metadata, in a namespace. */
export interface SecretObject extends KubeObject {
  metadata: ObjectMeta & { namespace?: string };
  type?: string;
  data?: Record<string, string>;
}

export interface CredentialStoreOptions {
  client: KubeClient;
  namespace: string;
  logger: Logger;
  watch: WatchSettings;
  clock: Clock;
  /** A request Secret arrived or changed (the service fulfils it). */
  onRequest(secret: SecretObject): void;
  /** A user's credentials changed in the cache (the proxy ends streams of tokens now gone). */
  onCredentialsChanged?(): void;
}

export interface CredentialStore {
  start(): void;
  stop(): Promise<void>;
  readonly synced: Promise<void>;
  hasSynced(): boolean;
  lookup(id: string): CachedRecord | undefined;
  /** The cached credentials of a User (by object name). */
  get(user: string): UserCredentials | undefined;
  /** Every user's credentials as cached. */
  users(): IterableIterator<UserCredentials>;
  requests(): SecretObject[];
  /**
   * Reads the user's Secret from the API server, applies `change`, writes it back with the
   * resourceVersion it read; retries on conflict. `change` returns the new credentials (null:
   * delete the Secret, undefined: nothing to write) and a result for the caller.
   */
  mutate<R>(user: string, change: (current: UserCredentials | undefined) => { next: UserCredentials | null | undefined; result: R }): Promise<R>;
  /** Deletes a Secret of this namespace by name (404 counts as done). */
  deleteSecret(name: string): Promise<void>;
  patchAnnotations(name: string, annotations: Record<string, string>): Promise<void>;
}

/** resourceVersions are opaque, but etcd's are increasing integers; compare when both are. */
function newer(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return true;
  const x = Number(a);
  const y = Number(b);
  return Number.isSafeInteger(x) && Number.isSafeInteger(y) ? x >= y : true;
}

export function createCredentialStore(opts: CredentialStoreOptions): CredentialStore {
  const { client, namespace, logger } = opts;
  const base = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`;
  // By Secret name: what the cache knows of each user Secret.
  const bySecret = new Map<string, { rv: string | undefined; creds: UserCredentials }>();
  const byId = new Map<string, CachedRecord>();
  const requests = new Map<string, SecretObject>();

  function unindex(name: string): void {
    const old = bySecret.get(name);
    if (!old) return;
    for (const r of old.creds.records) if (byId.get(r.id)?.user === old.creds.user) byId.delete(r.id);
    bySecret.delete(name);
  }

  function apply(secret: SecretObject, fromWrite: boolean): void {
    const name = secret.metadata.name;
    const role = secret.metadata.labels?.[CREDENTIALS_LABEL];
    if (role === 'request') {
      requests.set(name, secret);
      if (!fromWrite) opts.onRequest(secret);
      return;
    }
    if (role !== 'user') return;
    const known = bySecret.get(name);
    // Our own write is applied at once; the watch event for it (or an older one) changes nothing.
    if (known && !fromWrite && known.rv !== undefined && secret.metadata.resourceVersion !== undefined && !newer(secret.metadata.resourceVersion, known.rv)) return;
    const creds = decodeCredentials(secret.data);
    unindex(name);
    if (!creds || credentialSecretName(creds.user) !== name) {
      logger.warn({ secret: name }, 'credential secret unreadable; its tokens are refused');
      return;
    }
    bySecret.set(name, { rv: secret.metadata.resourceVersion, creds });
    for (const record of creds.records) byId.set(record.id, { user: creds.user, uid: creds.uid, record });
    opts.onCredentialsChanged?.();
  }

  function remove(name: string): void {
    requests.delete(name);
    const had = bySecret.has(name);
    unindex(name);
    if (had) opts.onCredentialsChanged?.();
  }

  const informer: Informer<SecretObject> = createInformer<SecretObject>({
    kind: 'Secret',
    path: `${base}?labelSelector=${encodeURIComponent(CREDENTIALS_LABEL)}`,
    client,
    watch: opts.watch,
    clock: opts.clock,
    logger,
    handler: {
      onReplace(objects) {
        bySecret.clear();
        byId.clear();
        requests.clear();
        for (const o of objects) apply(o, false);
      },
      onUpsert(object) {
        apply(object, false);
      },
      onDelete(object) {
        remove(object.metadata.name);
      },
    },
  });

  async function read(name: string): Promise<SecretObject | undefined> {
    try {
      return await client.request<SecretObject>({ method: 'GET', path: `${base}/${encodeURIComponent(name)}`, timeoutMs: 10_000 });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  return {
    start: () => informer.start(),
    stop: () => informer.stop(),
    synced: informer.synced,
    hasSynced: () => informer.hasSynced(),
    lookup: (id) => byId.get(id),
    get: (user) => bySecret.get(credentialSecretName(user))?.creds,
    users: () => [...bySecret.values()].map((v) => v.creds)[Symbol.iterator](),
    requests: () => [...requests.values()],
    async mutate(user, change) {
      const name = credentialSecretName(user);
      for (let attempt = 0; ; attempt++) {
        const current = await read(name);
        const creds = current ? decodeCredentials(current.data) : undefined;
        const { next, result } = change(creds && creds.user === user ? creds : undefined);
        if (next === undefined) return result;
        try {
          if (next === null) {
            if (current) {
              await client.request({
                method: 'DELETE',
                path: `${base}/${encodeURIComponent(name)}`,
                body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { resourceVersion: current.metadata.resourceVersion } },
                timeoutMs: 10_000,
              });
              remove(name);
            }
            return result;
          }
          const body: SecretObject = {
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: {
              name,
              namespace,
              labels: { [CREDENTIALS_LABEL]: 'user' },
              annotations: { [USER_ANNOTATION]: user },
              ...(current?.metadata.resourceVersion ? { resourceVersion: current.metadata.resourceVersion } : {}),
            },
            type: SECRET_TYPE,
            data: encodeCredentials(next),
          };
          const written = current
            ? await client.request<SecretObject>({ method: 'PUT', path: `${base}/${encodeURIComponent(name)}`, body, timeoutMs: 10_000 })
            : await client.request<SecretObject>({ method: 'POST', path: base, body, timeoutMs: 10_000 });
          apply(written, true);
          return result;
        } catch (err) {
          // 409: someone wrote between our read and write (or created it first): read again.
          if (attempt < 8 && (isConflict(err) || isNotFound(err))) continue;
          throw err;
        }
      }
    },
    async deleteSecret(name) {
      try {
        await client.request({ method: 'DELETE', path: `${base}/${encodeURIComponent(name)}`, timeoutMs: 10_000 });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      remove(name);
    },
    async patchAnnotations(name, annotations) {
      await client.request({
        method: 'PATCH',
        path: `${base}/${encodeURIComponent(name)}`,
        body: { metadata: { annotations } },
        contentType: 'application/merge-patch+json',
        timeoutMs: 10_000,
      });
    },
  };
}

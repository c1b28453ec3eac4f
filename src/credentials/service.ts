// What the operator does with credentials: redeem an invitation for a user's token, rotate a
// token, fulfil the CLI's invitation and revocation requests, give seed admins a token at install,
// and remove the Secrets of Users that are gone. Every issue, redemption, rejection and revocation
// is logged (token ids and users, never a token) and counted.
import type { User } from '../api/types.js';
import type { Logger } from '../log.js';
import { errorMessage } from '../errors.js';
import { isConflict, type KubeClient } from '../controller/kube.js';
import type { Authenticator, AuthResult, RejectReason } from './authenticate.js';
import { addRecord, forUser, markRedeemed, recordProblem, removeRecord, RecordLimitError, type UserCredentials } from './records.js';
import { ID_RE, isHash, issueToken, tokenMatches, type TokenKind, type RandomBytes } from './token.js';
import type { CredentialStore, SecretObject } from './store.js';
import { GROUP } from '../api/types.js';
import { usernameOf } from '../authz/rules.js';

export type CredentialEvent = 'issued' | 'redeemed' | 'rejected' | 'revoked' | 'rotated';

/** Counts an event; wired to the webhook metrics by the composition root. */
export type RecordEvent = (event: CredentialEvent, kind: TokenKind | 'all', reason: string) => void;

export const ERROR_ANNOTATION = `${GROUP}/error`;
export const SEED_TOKEN_LABEL = `${GROUP}/seed-token`;
/** A request whose User has not appeared after this long is answered with an error. */
const REQUEST_PATIENCE_MS = 30_000;

export interface Issued {
  ok: true;
  token: string;
  username: string;
  user: string;
}
export type Outcome = Issued | { ok: false; status: 401 | 409 | 429 | 503; reason: RejectReason | 'limit' };

export interface SeedCredential {
  username: string;
  /** The seed admin's User object name. */
  objectName: string;
}

export interface CredentialServiceOptions {
  store: CredentialStore;
  authenticator: Authenticator;
  client: KubeClient;
  namespace: string;
  user(name: string): User | undefined;
  indexReady(): boolean;
  invitationTtlMs: number;
  seeds: readonly SeedCredential[];
  now(): number;
  logger: Logger;
  record?: RecordEvent;
  random?: RandomBytes;
}

export interface CredentialService {
  redeem(token: string | undefined, source: string | undefined): Promise<Outcome>;
  rotate(token: string | undefined, source: string | undefined): Promise<Outcome>;
  /** Logs and counts a refusal the proxy or the TokenReview endpoint made. */
  rejected(result: Extract<AuthResult, { ok: false }>, channel: string, source?: string): void;
  /** One pass: pending requests, seed tokens, Secrets of Users that are gone. */
  reconcile(): Promise<void>;
  handleRequest(secret: SecretObject): void;
}

function dataField(secret: SecretObject, key: string): string | undefined {
  const v = secret.data?.[key];
  if (typeof v !== 'string' || v.length > 1024) return undefined;
  return Buffer.from(v, 'base64').toString('utf8');
}

export function seedTokenSecretName(objectName: string): string {
  return `gatehouse-seed-token-${objectName}`.slice(0, 253).replace(/[.-]+$/, '');
}

export function createCredentialService(opts: CredentialServiceOptions): CredentialService {
  const { store, authenticator, client, namespace, now } = opts;
  const logger = opts.logger.child({ component: 'credentials' });
  const record: RecordEvent = opts.record ?? (() => undefined);
  const inFlight = new Set<string>();
  // Requests already fulfilled (by uid): a stale copy (a pass that listed it before it was deleted,
  // a relist) must not apply it again, e.g. bring back an invitation revoked since.
  const fulfilled = new Set<string>();
  const secretsPath = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`;

  function rejected(result: Extract<AuthResult, { ok: false }>, channel: string, source?: string, kind: TokenKind = 'usr'): void {
    record('rejected', kind, result.reason);
    logger.info({ channel, reason: result.reason, tokenId: result.tokenId, user: result.user, source }, 'credential rejected');
  }

  async function issueFor(
    kind: 'inv' | 'usr',
    token: string | undefined,
    source: string | undefined,
    channel: 'activate' | 'rotate',
    change: (cur: UserCredentials, tokenId: string, fresh: ReturnType<typeof issueToken>, t: number, username: string) => UserCredentials,
  ): Promise<Outcome> {
    const pre = authenticator.check(token, kind, { ...(source !== undefined ? { source } : {}), login: true });
    if (!pre.ok) {
      rejected(pre, channel, source, kind);
      return { ok: false, status: pre.status, reason: pre.reason };
    }
    const { identity } = pre;
    const fresh = issueToken('usr', opts.random);
    // The cache said yes; the authoritative check is against the Secret as read now, in the write.
    let reason: RejectReason | 'limit' | undefined;
    try {
      reason = await store.mutate(identity.user, (cur) => {
        const t = now();
        const rec = cur?.records.find((r) => r.id === identity.tokenId);
        if (!cur || cur.uid !== identity.uid || !rec || !tokenMatches(token ?? '', rec.hash)) return { next: undefined, result: 'unknownToken' as const };
        const problem = recordProblem(rec, kind, t);
        if (problem) return { next: undefined, result: problem };
        return { next: change(cur, identity.tokenId, fresh, t, identity.username), result: undefined };
      });
    } catch (err) {
      if (!(err instanceof RecordLimitError)) throw err;
      reason = 'limit';
    }
    if (reason !== undefined) {
      const refusal = { ok: false as const, status: reason === 'limit' ? 409 as const : 401 as const, reason };
      record('rejected', kind, reason);
      logger.info({ channel, reason, tokenId: identity.tokenId, user: identity.user, source }, 'credential rejected');
      return refusal;
    }
    if (kind === 'inv') {
      record('redeemed', 'inv', 'ok');
      logger.info({ user: identity.user, tokenId: identity.tokenId, source }, 'invitation redeemed');
      record('issued', 'usr', 'activate');
      logger.info({ user: identity.user, tokenId: fresh.id }, 'credential issued');
    } else {
      record('rotated', 'usr', 'ok');
      logger.info({ user: identity.user, oldTokenId: identity.tokenId, tokenId: fresh.id, source }, 'token rotated');
    }
    return { ok: true, token: fresh.token, username: identity.username, user: identity.user };
  }

  async function fail(secret: SecretObject, message: string): Promise<void> {
    logger.warn({ request: secret.metadata.name, err: message }, 'credential request failed');
    await store.patchAnnotations(secret.metadata.name, { [ERROR_ANNOTATION]: message }).catch(() => undefined);
  }

  async function fulfil(secret: SecretObject): Promise<void> {
    if (secret.metadata.annotations?.[ERROR_ANNOTATION] !== undefined) return;
    if (fulfilled.has(secret.metadata.uid ?? secret.metadata.name)) {
      // Logged so that a test (and a reader of debug logs) sees the stale copy was looked at.
      logger.debug({ request: secret.metadata.name }, 'credential request already fulfilled, ignored');
      return;
    }
    const action = dataField(secret, 'action');
    const name = dataField(secret, 'user') ?? '';
    if (!opts.indexReady()) return; // the next pass
    const user = opts.user(name);
    if (!user || !user.metadata.uid) {
      const created = Date.parse(secret.metadata.creationTimestamp ?? '') || now();
      // The CLI creates the User and the request together; the User's watch event may be behind.
      if (now() - created < REQUEST_PATIENCE_MS) return;
      await fail(secret, `user ${JSON.stringify(name)} not found`);
      return;
    }
    const uid = user.metadata.uid;
    if (action === 'invite') {
      const id = dataField(secret, 'id') ?? '';
      const hash = dataField(secret, 'hash') ?? '';
      const ttlText = dataField(secret, 'ttlSeconds');
      const ttlSeconds = ttlText === undefined ? undefined : Number(ttlText);
      if (!ID_RE.test(id) || !isHash(hash) || (ttlSeconds !== undefined && !(Number.isInteger(ttlSeconds) && ttlSeconds > 0))) {
        await fail(secret, 'invitation request is malformed (id, hash or ttlSeconds)');
        return;
      }
      if (user.spec.state === 'Rejected' || user.spec.state === 'Suspended') {
        await fail(secret, `user ${name} is ${user.spec.state}; activate them first`);
        return;
      }
      const ttlMs = Math.min(opts.invitationTtlMs, (ttlSeconds ?? Infinity) * 1000);
      try {
        const t = now();
        const added = await store.mutate(name, (cur) => {
          const base = forUser(cur, name, uid);
          if (base.records.some((r) => r.id === id)) return { next: undefined, result: false };
          return { next: addRecord(base, { id, kind: 'inv', hash, issuedAt: t, expiresAt: t + ttlMs, username: usernameOf(user) }, t), result: true };
        });
        if (added) {
          record('issued', 'inv', 'invite');
          logger.info({ user: name, tokenId: id, expiresAt: new Date(t + ttlMs).toISOString() }, 'credential issued');
        }
      } catch (err) {
        if (err instanceof RecordLimitError) return fail(secret, err.message);
        throw err;
      }
    } else if (action === 'revoke') {
      const count = await store.mutate(name, (cur) => {
        if (!cur || cur.records.length === 0) return { next: undefined, result: 0 };
        return { next: { ...cur, records: [] }, result: cur.records.length };
      });
      record('revoked', 'all', 'revoke');
      logger.info({ user: name, records: count }, 'credentials revoked');
    } else {
      await fail(secret, `unknown action ${JSON.stringify(action ?? '')}; expected invite or revoke`);
      return;
    }
    if (fulfilled.size >= 10_000) fulfilled.clear();
    fulfilled.add(secret.metadata.uid ?? secret.metadata.name);
    await store.deleteSecret(secret.metadata.name);
  }

  function handleRequest(secret: SecretObject): void {
    const key = secret.metadata.name;
    if (inFlight.has(key)) return;
    inFlight.add(key);
    fulfil(secret)
      .catch((err: unknown) => logger.warn({ request: key, err: errorMessage(err) }, 'credential request not fulfilled yet'))
      .finally(() => inFlight.delete(key));
  }

  async function seedToken(seed: SeedCredential): Promise<void> {
    const user = opts.user(seed.objectName);
    if (!user?.metadata.uid) return; // the controller creates it; the next pass
    const uid = user.metadata.uid;
    const cur = store.get(seed.objectName);
    if (cur?.seedGenerated && cur.uid === uid) return;
    const issued = issueToken('usr', opts.random);
    const secretName = seedTokenSecretName(seed.objectName);
    // Creating the plaintext Secret first is the lock: of two replicas only one creates it.
    try {
      await client.request({
        method: 'POST',
        path: secretsPath,
        body: {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: secretName, namespace, labels: { [SEED_TOKEN_LABEL]: seed.objectName }, annotations: { [`${GROUP}/username`]: seed.username } },
          type: 'Opaque',
          stringData: { token: issued.token, username: seed.username },
        },
        timeoutMs: 10_000,
      });
    } catch (err) {
      if (isConflict(err)) return; // already there: someone generated it (or it is being generated)
      throw err;
    }
    try {
      await store.mutate(seed.objectName, (current) => {
        const t = now();
        const base = forUser(current, seed.objectName, uid);
        return { next: { ...addRecord(base, { id: issued.id, kind: 'usr', hash: issued.hash, issuedAt: t, username: usernameOf(user) }, t), seedGenerated: true }, result: undefined };
      });
    } catch (err) {
      await store.deleteSecret(secretName).catch(() => undefined);
      throw err;
    }
    record('issued', 'usr', 'seed');
    logger.info({ user: seed.objectName, tokenId: issued.id, secret: secretName }, 'credential issued');
  }

  async function collect(creds: UserCredentials): Promise<void> {
    const user = opts.user(creds.user);
    if (user && user.metadata.uid === creds.uid) return;
    const removed = await store.mutate(creds.user, (cur) => {
      if (!cur) return { next: undefined, result: 0 };
      const live = opts.user(cur.user);
      if (live && live.metadata.uid === cur.uid) return { next: undefined, result: 0 };
      return { next: null, result: cur.records.length };
    });
    if (removed > 0) {
      record('revoked', 'all', 'userDeleted');
      logger.info({ user: creds.user, records: removed }, 'credentials revoked');
    }
  }

  return {
    redeem: (token, source) =>
      issueFor('inv', token, source, 'activate', (cur, id, fresh, t, username) =>
        addRecord(markRedeemed(cur, id, t), { id: fresh.id, kind: 'usr', hash: fresh.hash, issuedAt: t, username }, t)),
    rotate: (token, source) =>
      issueFor('usr', token, source, 'rotate', (cur, id, fresh, t, username) =>
        addRecord(removeRecord(cur, id), { id: fresh.id, kind: 'usr', hash: fresh.hash, issuedAt: t, username }, t)),
    rejected: (result, channel, source) => rejected(result, channel, source),
    handleRequest,
    async reconcile() {
      if (!store.hasSynced() || !opts.indexReady()) return;
      for (const req of store.requests()) handleRequest(req);
      for (const seed of opts.seeds) {
        await seedToken(seed).catch((err: unknown) => logger.warn({ user: seed.objectName, err: errorMessage(err) }, 'seed credential not generated yet'));
      }
      for (const creds of [...store.users()]) {
        await collect(creds).catch((err: unknown) => logger.warn({ user: creds.user, err: errorMessage(err) }, 'credential cleanup failed'));
      }
    },
  };
}


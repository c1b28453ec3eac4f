// The proxy's open connections, indexed by the token and the user they were authenticated as, so
// that a revocation ends what is already open and not only what comes next. A watch or an exec,
// attach or port-forward session is authenticated once, when it opens; without this it would keep
// delivering (or keep its shell) after the token was revoked or the user suspended, rejected,
// renamed or deleted. Pure bookkeeping: the caller says how to end a stream and asks sweep() with
// the same liveness rule the authorization webhook uses (Authenticator.stillLive).

export interface StreamOwner {
  tokenId: string;
  /** The User object's name. */
  user: string;
  /** The username the stream acts as; a change of username ends it too. */
  username: string;
}

export type StreamKind = 'request' | 'upgrade';

interface Entry {
  owner: StreamOwner;
  kind: StreamKind;
  end: () => void;
}

export interface StreamRegistry {
  /** Registers an open stream; the returned function forgets it (call it when it closes). */
  open(owner: StreamOwner, kind: StreamKind, end: () => void): () => void;
  /** Ends every stream whose token is no longer live; returns how many were ended. */
  sweep(stillLive: (tokenId: string, username: string) => boolean): number;
  /** Ends every stream of this token / of this User. */
  endToken(tokenId: string): number;
  endUser(user: string): number;
  /** Ends everything (shutdown). */
  endAll(): number;
  readonly size: number;
  count(kind?: StreamKind): number;
}

export function createStreamRegistry(): StreamRegistry {
  const byToken = new Map<string, Set<Entry>>();
  const byUser = new Map<string, Set<Entry>>();

  function add(map: Map<string, Set<Entry>>, key: string, e: Entry): void {
    let set = map.get(key);
    if (!set) map.set(key, (set = new Set()));
    set.add(e);
  }
  function remove(e: Entry): void {
    for (const [map, key] of [[byToken, e.owner.tokenId], [byUser, e.owner.user]] as const) {
      const set = map.get(key);
      if (!set) continue;
      set.delete(e);
      if (set.size === 0) map.delete(key);
    }
  }
  function endAllOf(set: Set<Entry> | undefined): number {
    if (!set) return 0;
    const list = [...set];
    for (const e of list) {
      remove(e);
      // An end() that throws must not keep the others open.
      try {
        e.end();
      } catch {
        /* the stream is already gone */
      }
    }
    return list.length;
  }

  return {
    open(owner, kind, end) {
      const e: Entry = { owner, kind, end };
      add(byToken, owner.tokenId, e);
      add(byUser, owner.user, e);
      let forgotten = false;
      return () => {
        if (forgotten) return;
        forgotten = true;
        remove(e);
      };
    },
    sweep(stillLive) {
      let ended = 0;
      for (const [tokenId, set] of [...byToken]) {
        // Every stream of one token shares its user; a username differs only if it changed since.
        const dead = [...set].filter((e) => !stillLive(tokenId, e.owner.username));
        if (dead.length > 0) ended += endAllOf(new Set(dead));
      }
      return ended;
    },
    endToken: (tokenId) => endAllOf(byToken.get(tokenId)),
    endUser: (user) => endAllOf(byUser.get(user)),
    endAll() {
      let n = 0;
      for (const set of [...byToken.values()]) n += endAllOf(set);
      return n;
    },
    get size() {
      let n = 0;
      for (const set of byToken.values()) n += set.size;
      return n;
    },
    count(kind) {
      let n = 0;
      for (const set of byToken.values()) for (const e of set) if (kind === undefined || e.kind === kind) n++;
      return n;
    },
  };
}

// A scripted KubeClient for unit tests: the test decides what each list returns and drives each
// watch (events, data, clean end, errors).
import { KubeApiError, type KubeClient, type KubeRequest, type Query, type WatchEvent } from '../../src/controller/kube.js';

export interface FakeWatch {
  path: string;
  query: Query;
  signal: AbortSignal;
  send(ev: WatchEvent): void;
  data(): void;
  end(): void;
  fail(err: Error): void;
  readonly closed: boolean;
}

export class FakeKube implements KubeClient {
  readonly requests: KubeRequest[] = [];
  readonly watches: FakeWatch[] = [];
  /** Answers a request; throw a KubeApiError for an HTTP error. */
  handler: (req: KubeRequest) => unknown = () => {
    throw new KubeApiError('no handler', 500);
  };

  async request<T>(req: KubeRequest): Promise<T> {
    this.requests.push(req);
    const signal = req.signal;
    if (signal?.aborted) throw new KubeApiError('aborted', 0, 'Aborted');
    const answer = Promise.resolve().then(() => this.handler(req)) as Promise<T>;
    if (!signal) return answer;
    // Like the real client: an abort ends a request that would otherwise hang.
    return Promise.race([
      answer,
      new Promise<T>((_, reject) => signal.addEventListener('abort', () => reject(new KubeApiError('aborted', 0, 'Aborted')), { once: true })),
    ]);
  }

  watch(path: string, query: Query, signal: AbortSignal, onEvent: (ev: WatchEvent) => void, onData?: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let closed = false;
      const close = (err?: Error): void => {
        if (closed) return;
        closed = true;
        if (err) reject(err);
        else resolve();
      };
      signal.addEventListener('abort', () => close(new KubeApiError('aborted', 0, 'Aborted')), { once: true });
      this.watches.push({
        path,
        query,
        signal,
        send(ev) {
          if (closed) return;
          onData?.();
          try {
            onEvent(ev);
          } catch (err) {
            close(err as Error);
          }
        },
        data: () => onData?.(),
        end: () => close(),
        fail: (err) => close(err),
        get closed() {
          return closed;
        },
      });
    });
  }

  get lastWatch(): FakeWatch | undefined {
    return this.watches[this.watches.length - 1];
  }
}

export function listOf(items: unknown[], resourceVersion: string): unknown {
  return { items, metadata: { resourceVersion } };
}

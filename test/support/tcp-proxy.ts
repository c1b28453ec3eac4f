// A loopback TCP proxy a test controls, to put network faults between the operator and the API
// server. TLS passes through untouched (the apiserver's certificate names 127.0.0.1, so a
// kubeconfig pointing at the proxy's port verifies as usual).
//   forward(): normal; held bytes from a freeze are delivered.
//   cut():     every open connection is reset, and new ones are refused until forward().
//   freeze():  connections stay open (and new ones are accepted) but no byte moves: a silent
//              network path, which only a watchdog notices.
//   delay(ms): forwarding, but every chunk from the server to the client arrives `ms` later, in
//              order: a slow path (a watch event late by seconds), which a barrier must wait out.
import net from 'node:net';

type Mode = 'forward' | 'cut' | 'freeze';

interface Pair {
  client: net.Socket;
  upstream: net.Socket;
  held: Array<{ to: net.Socket; data: Buffer }>;
}

export class TcpProxy {
  readonly port: number;
  private mode: Mode = 'forward';
  /** Milliseconds each server-to-client chunk is held in forward mode (delay()). */
  private delayMs = 0;
  private readonly pairs = new Set<Pair>();
  private readonly server: net.Server;
  /** Connections accepted since the start, for the test's own diagnostics. */
  accepted = 0;

  private constructor(server: net.Server, port: number) {
    this.server = server;
    this.port = port;
  }

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = net.createServer((client) => proxy?.accept(client, targetHost, targetPort));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    proxy = new TcpProxy(server, typeof addr === 'object' && addr ? addr.port : 0);
    return proxy;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  get openConnections(): number {
    return this.pairs.size;
  }

  private accept(client: net.Socket, host: string, port: number): void {
    this.accepted++;
    if (this.mode === 'cut') {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(port, host);
    const pair: Pair = { client, upstream, held: [] };
    this.pairs.add(pair);
    const relay = (from: net.Socket, to: net.Socket, delayable: boolean): void => {
      // A chunk never overtakes an earlier one: each waits for the later of its own delay and the
      // previous chunk's delivery.
      let lastDelivery = 0;
      const deliver = (fn: () => void): void => {
        const wait = delayable ? Math.max(this.delayMs, lastDelivery - Date.now()) : 0;
        if (wait <= 0) return fn();
        lastDelivery = Date.now() + wait;
        setTimeout(fn, wait);
      };
      from.on('data', (data: Buffer) => {
        if (this.mode === 'freeze') pair.held.push({ to, data });
        else deliver(() => {
          if (!to.destroyed) to.write(data);
        });
      });
      from.on('end', () => {
        if (this.mode !== 'freeze') deliver(() => to.end());
      });
    };
    relay(client, upstream, false);
    relay(upstream, client, true);
    const close = (): void => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    // The server's side closing is news from the server too: it waits behind the delayed bytes.
    const closeFromServer = (): void => {
      if (this.delayMs > 0) setTimeout(close, this.delayMs);
      else close();
    };
    client.on('error', close);
    upstream.on('error', closeFromServer);
    client.on('close', close);
    upstream.on('close', closeFromServer);
  }

  /** Forwarding again, with no delay; bytes held by a freeze are delivered. */
  forward(): void {
    this.mode = 'forward';
    this.delayMs = 0;
    for (const pair of this.pairs) {
      for (const { to, data } of pair.held.splice(0)) if (!to.destroyed) to.write(data);
    }
  }

  /** Forwards, holding every server-to-client chunk `ms` before it is delivered (in order). */
  delay(ms: number): void {
    this.forward();
    this.delayMs = ms;
  }

  /** Resets every connection and refuses new ones until forward(). */
  cut(): void {
    this.mode = 'cut';
    for (const pair of [...this.pairs]) {
      pair.client.resetAndDestroy();
      pair.upstream.destroy();
      this.pairs.delete(pair);
    }
  }

  /** Keeps connections open but moves no bytes until forward(). */
  freeze(): void {
    this.mode = 'freeze';
  }

  async close(): Promise<void> {
    for (const pair of [...this.pairs]) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    this.pairs.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

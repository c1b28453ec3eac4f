// A loopback TCP balancer in front of several operator replicas, as a Service is in a cluster:
// each new connection goes to the next backend in turn, and to the one after when a backend
// refuses (stopped). TLS passes through untouched.
import net from 'node:net';

export class Balancer {
  backends: number[] = [];
  private next = 0;
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly server: net.Server, readonly port: number) {}

  static async start(): Promise<Balancer> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = server.address() as net.AddressInfo;
    const b = new Balancer(server, addr.port);
    server.on('connection', (client) => b.accept(client));
    return b;
  }

  private accept(client: net.Socket): void {
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    const order = this.backends.map((_, i) => this.backends[(this.next + i) % this.backends.length]!);
    this.next = (this.next + 1) % Math.max(1, this.backends.length);
    const tryConnect = (i: number): void => {
      const port = order[i];
      if (port === undefined) {
        client.destroy();
        return;
      }
      const upstream = net.connect(port, '127.0.0.1');
      let connected = false;
      upstream.on('error', () => {
        upstream.destroy();
        if (!connected) tryConnect(i + 1);
        else client.destroy();
      });
      upstream.once('connect', () => {
        connected = true;
        this.sockets.add(upstream);
        upstream.on('close', () => {
          this.sockets.delete(upstream);
          client.destroy();
        });
        client.on('close', () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    tryConnect(0);
  }

  /** Cuts every open connection (the listener stays): the next request makes a new TLS handshake. */
  dropConnections(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

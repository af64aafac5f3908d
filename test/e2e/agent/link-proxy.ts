import net from 'node:net';

/** A TCP forwarder between agents and the agent gateway that a test can cut and restore. */
export interface LinkProxy {
  /** The port agents dial (on 127.0.0.1). */
  port: number;
  /** Resets every forwarded connection and, until `restore()`, resets new ones as they arrive. */
  cut(): void;
  restore(): void;
  /** Connections accepted since the start, forwarded or refused. */
  accepted(): number;
  close(): Promise<void>;
}

/**
 * Listens on a free port of 127.0.0.1 and forwards each connection to `target` byte for byte (TLS passes
 * through untouched). When the target refuses, the agent's connection is reset too, as if it had dialled the
 * gateway itself.
 */
export async function startLinkProxy(target: { host: string; port: number }): Promise<LinkProxy> {
  const open = new Set<net.Socket>();
  let isCut = false;
  let accepted = 0;
  const server = net.createServer((client) => {
    accepted += 1;
    if (isCut) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(target.port, target.host);
    open.add(client);
    open.add(upstream);
    const drop = () => {
      open.delete(client);
      open.delete(upstream);
      if (!client.destroyed) client.resetAndDestroy();
      if (!upstream.destroyed) upstream.resetAndDestroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('error', drop);
      socket.on('close', drop);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const resetAll = () => {
    for (const socket of open) if (!socket.destroyed) socket.resetAndDestroy();
    open.clear();
  };
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    cut() {
      isCut = true;
      resetAll();
    },
    restore() {
      isCut = false;
    },
    accepted: () => accepted,
    async close() {
      isCut = true;
      resetAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

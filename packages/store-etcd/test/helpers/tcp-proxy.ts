import { type Server, type Socket, connect, createServer } from "node:net";

/** A TCP proxy on 127.0.0.1 that can hold every byte in both directions (a network partition). */
export interface TcpProxy {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  /** Stops forwarding: bytes wait in the sockets' buffers, nothing is dropped or reset. */
  partition(): void;
  /** Forwards again, delivering what waited (a partition that heals before TCP gives up). */
  heal(): void;
  close(): Promise<void>;
}

/** Starts a {@link TcpProxy} in front of `target` (`http://host:port`). */
export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  const held: Array<{ to: Socket; chunk: Buffer }> = [];
  let blocked = false;
  const forward = (from: Socket, to: Socket) =>
    from.on("data", (chunk: Buffer) => {
      if (blocked) held.push({ to, chunk });
      else to.write(chunk);
    });
  const server: Server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
      s.on("error", () => undefined);
    }
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const local = typeof address === "object" && address ? address.port : 0;
  return {
    endpoint: `http://127.0.0.1:${local}`,
    partition() {
      blocked = true;
    },
    heal() {
      blocked = false;
      for (const { to, chunk } of held.splice(0)) if (!to.destroyed) to.write(chunk);
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

// The published ports' forwarder: a process of its own (`bunc
// network-proxy SPEC`), started at createRuntime and ended at poststop. It
// listens on the host ports and relays each TCP connection, and each UDP
// client's datagrams, to the container's address. It says "ready" on
// stdout once every port is bound, or why one could not be.
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { closeSync, openSync } from "node:fs";
import { createConnection, createServer, type Server } from "node:net";
import type { Port } from "./request.ts";

export interface ProxySpec {
  readonly id: string;
  readonly target: string;
  readonly ports: readonly Port[];
}

const UDP_IDLE_MS = 60_000;

function tcp(spec: ProxySpec, p: Port): Promise<Server> {
  const server = createServer((client) => {
    const upstream = createConnection({ host: spec.target, port: p.container });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: p.host, host: "0.0.0.0", exclusive: true }, () => resolve(server));
  });
}

function udp(spec: ProxySpec, p: Port): Promise<UdpSocket> {
  const server = createSocket("udp4");
  // One socket towards the container per client, so that replies find their way back.
  const clients = new Map<string, { sock: UdpSocket; timer: ReturnType<typeof setTimeout> }>();
  server.on("message", (msg, from) => {
    const key = `${from.address}:${from.port}`;
    let c = clients.get(key);
    if (!c) {
      const sock = createSocket("udp4");
      sock.on("message", (reply, sender) => {
        if (sender.address === spec.target && sender.port === p.container)
          server.send(reply, from.port, from.address);
      });
      c = { sock, timer: setTimeout(() => {}, 0) };
      clients.set(key, c);
    }
    const entry = c;
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => {
      entry.sock.close();
      clients.delete(key);
    }, UDP_IDLE_MS);
    entry.sock.send(msg, p.container, spec.target);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.bind({ port: p.host, address: "0.0.0.0", exclusive: true }, () => resolve(server));
  });
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[3] ?? "{}") as ProxySpec;
  for (const p of spec.ports) {
    try {
      await (p.protocol === "udp" ? udp(spec, p) : tcp(spec, p));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why =
        code === "EADDRINUSE"
          ? "is already in use on this host"
          : `cannot be bound (${(e as Error).message})`;
      process.stdout.write(
        `network: publish ${p.host}:${p.container}/${p.protocol} for container ${spec.id}: port ${p.host}/${p.protocol} ${why}\n`,
      );
      process.exit(1);
    }
  }
  process.stdout.write("ready\n", () => {
    // Nothing more goes to whoever started us.
    closeSync(1);
    openSync("/dev/null", "w");
  });
}

main();

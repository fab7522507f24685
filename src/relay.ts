// The relay: binds the UDP socket and wires datagrams through the registry to fan-out. The only module here that owns a socket.

import { isUtf8 } from "node:buffer";
import type { RelayConfig } from "./config.ts";
import { FanOut } from "./fanout.ts";
import type { LinePrinter } from "./printer.ts";
import { cleanName, encode, encodeJoin, notice } from "./protocol.ts";
import { type Client, Registry } from "./registry.ts";
import { type BufferSizes, setBufferSizes } from "./sockopt.ts";
import { RelayStats } from "./stats.ts";

/** A running relay. */
export interface Relay {
  readonly host: string;
  /** The bound port (the one the OS chose, with port 0). */
  readonly port: number;
  readonly stats: RelayStats;
  readonly registry: Registry;
  /** Datagrams waiting for the socket buffer to drain. */
  readonly backlog: number;
  /** `host:port`, with IPv6 hosts in brackets. */
  readonly endpoint: string;
  /** Kernel buffer sizes granted, or undefined where they cannot be set (OS defaults apply). */
  readonly buffers: BufferSizes | undefined;
  /**
   * Tells every client the server is shutting down, waits up to `graceMs` for queued datagrams to
   * leave (what is still queued then is counted as dropped), and closes the socket.
   */
  shutdown(graceMs?: number): Promise<void>;
  /** Closes the socket at once, telling nobody. */
  close(): void;
}

/** The socket could not be bound. The message names host:port and the reason; no stack trace needed. */
export class BindError extends Error {
  override readonly name = "BindError";
}

const bindReasons: Record<string, string> = {
  EADDRINUSE: "address already in use",
  EADDRNOTAVAIL: "address not available on this host",
  EACCES: "permission denied",
  EAFNOSUPPORT: "address family not supported",
};

/** `host:port`, bracketing IPv6 hosts. */
export function formatEndpoint(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Binds and starts relaying. Throws BindError when the address cannot be bound. */
export async function startRelay(config: RelayConfig, printer?: LinePrinter): Promise<Relay> {
  const stats = new RelayStats();
  const registry = new Registry();
  const decoder = new TextDecoder();
  const maxDatagram = config.maxDatagramBytes;
  const echo = config.echo;
  const console_ = config.quiet ? undefined : printer;
  // A coarse clock for last-seen times: reading the real one per datagram costs more than it tells.
  let nowMs = performance.now();
  const clock = setInterval(() => (nowMs = performance.now()), 250);
  clock.unref();

  let fan: FanOut | undefined;
  let socket: Bun.udp.Socket<"buffer">;
  try {
    socket = await Bun.udpSocket({
      hostname: config.host,
      port: config.port,
      socket: {
        data: (_s, payload, port, address, flags) => onDatagram(payload, port, address, flags.truncated),
        drain: () => fan?.drain(),
        // Bun reports an ICMP error queued on the socket here (with no detail); fan-out already resumes past it.
        error: () => {},
      },
    });
  } catch (err) {
    clearInterval(clock);
    const code = (err as { code?: string }).code ?? "";
    const reason = bindReasons[code] ?? ((err as Error).message || "bind failed");
    throw new BindError(`cannot listen on ${formatEndpoint(config.host, config.port)}: ${reason}`);
  }
  const buffers = setBufferSizes(socket, config.recvBufferBytes, config.sendBufferBytes);
  const fanOut = new FanOut(socket, registry, stats, maxDatagram, config.sendQueuePackets);
  fan = fanOut;

  // hot path: every inbound datagram
  function onDatagram(payload: Uint8Array, port: number, address: string, truncated: boolean): void {
    stats.datagramsIn++;
    const client = registry.lookup(address, port);
    if (client === undefined) {
      admit(payload, port, address, truncated);
      return;
    }
    client.lastSeenMs = nowMs;
    relayLine(client, payload, truncated);
  }

  // hot path: a chat line from a registered client
  function relayLine(client: Client, payload: Uint8Array, truncated: boolean): void {
    if (payload.length === 0) {
      stats.drops.empty++;
      return;
    }
    if (truncated || client.prefix.length + payload.length > maxDatagram) {
      stats.drops.too_long++;
      fanOut.sendTo(encode(notice.tooLong(maxDatagram - client.prefix.length)), client.port, client.address);
      return;
    }
    if (!isUtf8(payload)) {
      stats.drops.invalid_utf8++;
      fanOut.sendTo(encode(notice.invalidUtf8), client.port, client.address);
      return;
    }
    const frame = fanOut.frame(client.prefix, payload);
    stats.linesRelayed++;
    if (echo) fanOut.broadcast(frame);
    else fanOut.broadcastExcept(frame, client);
    if (console_ !== undefined) console_.line(frame);
  }

  // Cold path: the first datagram from an address is its name.
  function admit(payload: Uint8Array, port: number, address: string, truncated: boolean): void {
    if (truncated || payload.length > maxDatagram) {
      stats.drops.too_long++;
      fanOut.sendTo(encode(notice.nameTooLong(maxDatagram)), port, address);
      return;
    }
    if (!isUtf8(payload)) {
      stats.drops.invalid_utf8++;
      fanOut.sendTo(encode(notice.invalidUtf8), port, address);
      return;
    }
    const name = cleanName(decoder.decode(payload));
    if (name === "") {
      stats.drops.empty++;
      return;
    }
    const join = encodeJoin(name);
    if (join.length > maxDatagram) {
      stats.drops.too_long++;
      fanOut.sendTo(encode(notice.nameTooLong(maxDatagram - (join.length - payload.length))), port, address);
      return;
    }
    registry.add(name, address, port, nowMs);
    stats.joins++;
    fanOut.broadcast(join);
    if (console_ !== undefined) console_.line(join);
  }

  let closed = false;
  function close(): void {
    if (closed) return;
    closed = true;
    clearInterval(clock);
    socket.close();
  }

  return {
    host: config.host,
    port: socket.port,
    stats,
    registry,
    get backlog() {
      return fanOut.backlogSize;
    },
    endpoint: formatEndpoint(config.host, socket.port),
    buffers,
    async shutdown(graceMs = 2000) {
      if (closed) return;
      const bye = encode(notice.shuttingDown);
      fanOut.broadcast(bye);
      printer?.line(bye);
      const deadline = performance.now() + graceMs;
      while (fanOut.backlogSize > 0 && performance.now() < deadline) await Bun.sleep(5);
      if (fanOut.backlogSize > 0) fanOut.abandonBacklog();
      close();
    },
    close,
  };
}

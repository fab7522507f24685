// Binding the relay's port: the one-line error an operator reads when it fails, the plain-bind check a worker group
// makes first, and the flag that puts a Bun socket in a SO_REUSEPORT group.

import { formatEndpoint } from "./protocol/endpoint.ts";

/**
 * `Bun.udpSocket` option that sets SO_REUSEPORT. Bun 1.4.5 silently ignores `reusePort: true` for UDP, but
 * passes `flags` to its bind, and flag 4 is its reuse-port bit; `sendMany` works as usual. Undocumented:
 * test/reuseport.test.ts fails loudly if it ever stops working.
 */
export const reusePortFlags = { flags: 4 } as const;

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

export function bindError(err: unknown, host: string, port: number): BindError {
  const code = (err as { code?: string }).code ?? "";
  const reason = bindReasons[code] ?? ((err as Error).message || "bind failed");
  return new BindError(`cannot listen on ${formatEndpoint(host, port)}: ${reason}`);
}

/**
 * Checks that `host`:`port` is free with a plain bind (no SO_REUSEPORT), and returns the port (the one the OS chose,
 * with 0). A worker group binds with SO_REUSEPORT, which could otherwise join a port someone holds with it (a
 * relay's send-only socket, send-socket.ts): checked first, the port is refused as it would be to a single relay.
 */
export async function reservePort(host: string, port: number): Promise<number> {
  let probe: Bun.udp.Socket<"buffer">;
  try {
    probe = await Bun.udpSocket({ hostname: host, port });
  } catch (err) {
    throw bindError(err, host, port);
  }
  const got = probe.port;
  probe.close();
  return got;
}

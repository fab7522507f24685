// The two kernel knobs the generator turns through libc (bun:ffi): the open-file limit and socket receive buffers.

import { libc } from "../libc.ts";

const RLIMIT_NOFILE = 7; // Linux, all architectures Bun ships for
const SOL_SOCKET = 1;
const SO_RCVBUF = 8;

/** The outcome of making room for `needed` file descriptors. */
export interface FdLimit {
  readonly ok: boolean;
  readonly soft: number;
  readonly hard: number;
  /** Set when the limit was too low: what to do about it, for a person. */
  readonly advice?: string;
}

/**
 * Raises the soft open-file limit to `needed` when the hard limit allows it (Bun already raises it to the
 * hard limit at start-up; this covers runtimes that do not). When the hard limit is lower, explains how
 * to raise it: only root (or the service manager) can.
 */
export function ensureFdLimit(needed: number): FdLimit {
  const c = libc();
  if (c === null) return { ok: true, soft: Number.NaN, hard: Number.NaN };
  const lim = new BigUint64Array(2);
  if (!c.getrlimit(RLIMIT_NOFILE, lim)) return { ok: true, soft: Number.NaN, hard: Number.NaN };
  const soft = Number(lim[0]);
  const hard = Number(lim[1]);
  if (soft >= needed) return { ok: true, soft, hard };
  if (hard >= needed) {
    lim[0] = BigInt(needed);
    if (c.setrlimit(RLIMIT_NOFILE, lim)) return { ok: true, soft: needed, hard };
  }
  return {
    ok: false,
    soft,
    hard,
    advice:
      `this run needs about ${needed} open files (one socket per client) but the limit is ${soft} (hard limit ${hard}), ` +
      `which an unprivileged process cannot raise: run \`ulimit -n ${needed}\` as root before starting, ` +
      `or raise "nofile" in /etc/security/limits.conf (LimitNOFILE= for a systemd service), or use fewer --clients`,
  };
}

/**
 * Asks for a receive buffer of `bytes` on a socket (capped by net.core.rmem_max, 4 MiB here). With a
 * thousand clients each gets one datagram per message; a deeper queue rides out a scheduling hiccup of
 * the generator instead of dropping. Returns false where it cannot be set (no libc, no fd).
 */
export function setReceiveBuffer(socket: { readonly fd?: number }, bytes: number): boolean {
  const c = libc();
  const fd = socket.fd;
  if (c === null || typeof fd !== "number") return false;
  return c.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, new Int32Array([bytes]));
}

/** The receive buffer a socket was granted in bytes (Linux doubles the request for bookkeeping), or null where it cannot be read. */
export function receiveBuffer(socket: { readonly fd?: number } | undefined): number | null {
  const c = libc();
  const fd = socket?.fd;
  if (c === null || typeof fd !== "number") return null;
  return c.getsockopt(fd, SOL_SOCKET, SO_RCVBUF) ?? null;
}

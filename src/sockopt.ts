// Kernel options for the relay's socket that Bun.udpSocket has no API for: buffer sizes and ICMP error reporting.

import { fdOf, libc } from "./libc.ts";

/** What the kernel granted, read back after asking. */
export interface SocketSetup {
  /** Receive buffer (Linux doubles the request, capped by net.core.rmem_max). */
  readonly recvBytes: number;
  /** Send buffer (capped by net.core.wmem_max). */
  readonly sendBytes: number;
  /**
   * Whether per-datagram ICMP errors are off (IP_RECVERR / IPV6_RECVERR read back as 0). Bun turns them on;
   * left on, every recipient that went away fails the next send once per line (docs/hardening.md, dead clients).
   */
  readonly icmpErrorsOff: boolean;
}

// Linux's numbers (asm-generic and x86 agree for these).
const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SO_DOMAIN = 39;
const AF_INET6 = 10;
const SOL_IP = 0;
const IP_RECVERR = 11;
const SOL_IPV6 = 41;
const IPV6_RECVERR = 25;

const OFF = new Int32Array([0]);

/** The socket's address family (AF_INET 2, AF_INET6 10), read with SO_DOMAIN; undefined where it cannot be. */
export function socketFamily(socket: object): number | undefined {
  const c = libc();
  const fd = fdOf(socket);
  return c === null || fd === undefined ? undefined : c.getsockopt(fd, SOL_SOCKET, SO_DOMAIN);
}

/**
 * Asks for `recvBytes`/`sendBytes` (0 = leave as is), turns ICMP error reporting off, and returns what the
 * kernel granted; undefined where none of it can be done here (not Linux, no fd, no libc).
 */
export function setUpSocket(socket: object, recvBytes: number, sendBytes: number): SocketSetup | undefined {
  const c = libc();
  const fd = fdOf(socket);
  if (c === null || fd === undefined) return undefined;
  if (recvBytes > 0) c.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, new Int32Array([recvBytes]));
  if (sendBytes > 0) c.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, new Int32Array([sendBytes]));
  // An IPv6 socket also carries IPv4-mapped traffic (bound to ::), whose errors follow IP_RECVERR: both go off.
  c.setsockopt(fd, SOL_IP, IP_RECVERR, OFF);
  const v6 = c.getsockopt(fd, SOL_SOCKET, SO_DOMAIN) === AF_INET6;
  if (v6) c.setsockopt(fd, SOL_IPV6, IPV6_RECVERR, OFF);
  const off = c.getsockopt(fd, SOL_IP, IP_RECVERR) === 0 && (!v6 || c.getsockopt(fd, SOL_IPV6, IPV6_RECVERR) === 0);
  return { recvBytes: c.getsockopt(fd, SOL_SOCKET, SO_RCVBUF) ?? -1, sendBytes: c.getsockopt(fd, SOL_SOCKET, SO_SNDBUF) ?? -1, icmpErrorsOff: off };
}

// The send-only socket: fan-out's sendmmsg goes out through a second socket on the relay's own address and port,
// one that no event loop watches, so the kernel skips a wake-up per datagram sent.
//
// Why: Bun's event loop keeps the relay's socket in its epoll set, so the socket's wait queue is never empty, and
// on loopback every datagram sent gives its buffer space back at once (sock_wfree) and wakes that queue for
// "writable" — a lock and a callback per delivery, about 2–3 % of the relay's CPU under fan-out (perf,
// docs/fan-out.md). A socket nobody polls has an empty wait queue and pays nothing, like the C reference's.
//
// How: both sockets join one SO_REUSEPORT group, and a one-instruction classic BPF program on the group
// ("return 0") hands every arriving datagram to member 0, the relay's socket, which created the group. Then
// SO_REUSEPORT is cleared on the relay's socket. A second relay still gets "address already in use" (a plain bind
// conflicts with both sockets; a worker group checks with a plain bind first, `reservePort`); another program of
// the same user binding with SO_REUSEPORT could join (Linux lets the send-only socket vouch for the port), and
// would receive nothing. Replies leave from the same address and port, so clients see nothing.
// Between the bind that forms the group and the program's attach (two calls, microseconds) a datagram could land
// on the send-only socket and be lost; that window is at start-up, before the relay says it is running.

import { ptr } from "bun:ffi";
import { fdOf, type Libc, libc } from "./libc.ts";
import { AF_INET6 } from "./sockaddr.ts";

// Linux's numbers (asm-generic and x86 agree for these).
const SOL_SOCKET = 1;
const SO_REUSEPORT = 15;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SO_ATTACH_REUSEPORT_CBPF = 51;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const IPPROTO_IPV6 = 41;
const IPV6_V6ONLY = 26;
const ON = new Int32Array([1]);
const OFF = new Int32Array([0]);
/** The send-only socket receives nothing; its receive buffer is asked as small as the kernel allows. */
const TINY_RECEIVE_BUFFER = new Int32Array([1]);

/** `struct sock_filter` { u16 code; u8 jt; u8 jf; u32 k }: BPF_RET | BPF_K with k = 0, "the group's member 0". */
const RETURN_MEMBER_0 = new Uint8Array([0x06, 0, 0, 0, 0, 0, 0, 0]);

/** A send-only socket opened beside a relay's socket: its fd, to be closed with `closeSendSocket`. */
export interface SendSocket {
  readonly fd: number;
}

/**
 * Opens the send-only socket beside `relayFd` (bound, not yet in any SO_REUSEPORT group): same family, address,
 * port and IPV6_V6ONLY, send buffer `sendBytes` (0 = the default). Returns why it could not, as a string, with
 * the relay's socket left as it was.
 */
export function openSendSocket(relayFd: number, sendBytes: number): SendSocket | string {
  const c = libc();
  if (c === null) return "libc could not be loaded";
  const address = new Uint8Array(128);
  const length = c.getsockname(relayFd, address);
  if (length <= 0) return `getsockname failed (errno ${c.errno()})`;
  const family = address[0]! | (address[1]! << 8);
  const fd = c.socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return `socket failed (errno ${c.errno()})`;
  const fail = (what: string): string => {
    const why = `${what} (errno ${c.errno()})`;
    c.close(fd);
    c.setsockopt(relayFd, SOL_SOCKET, SO_REUSEPORT, OFF);
    return why;
  };
  if (family === AF_INET6) {
    const v6only = c.getsockopt(relayFd, IPPROTO_IPV6, IPV6_V6ONLY) ?? 0;
    if (!c.setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, v6only === 0 ? OFF : ON)) return fail("IPV6_V6ONLY failed");
  }
  if (sendBytes > 0) c.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, new Int32Array([sendBytes]));
  c.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, TINY_RECEIVE_BUFFER);
  if (!c.setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, ON) || !c.setsockopt(relayFd, SOL_SOCKET, SO_REUSEPORT, ON)) return fail("SO_REUSEPORT failed");
  if (!c.bind(fd, address, length)) return fail("bind beside the relay's socket failed");
  if (!attachSteering(c, relayFd)) return fail("SO_ATTACH_REUSEPORT_CBPF failed");
  // No one else may join now; the send-only socket keeps the flag, so lookups that meet it first still go
  // through the group's program (to the relay's socket).
  c.setsockopt(relayFd, SOL_SOCKET, SO_REUSEPORT, OFF);
  return { fd };
}

/** Closes a send-only socket (after the relay's last send). */
export function closeSendSocket(socket: SendSocket): void {
  libc()?.close(socket.fd);
}

// The kernel copies the program: `filter` need only live for the call.
function attachSteering(c: Libc, fd: number): boolean {
  const filter = RETURN_MEMBER_0.slice();
  const program = new Uint8Array(16); // struct sock_fprog { u16 len; (pad); struct sock_filter *filter }
  const view = new DataView(program.buffer);
  view.setUint16(0, 1, true);
  view.setBigUint64(8, BigInt(ptr(filter)), true);
  return c.setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, program);
}

const MSG_DONTWAIT = 0x40;
const STEERING_CHECK_MS = 1000;
const STEERING_PROBES = 8;

/**
 * Why the send-only socket cannot be trusted here, or undefined: on a throwaway loopback socket made like the
 * relay's, a send-only socket is opened; probes from several source ports must all reach the throwaway socket and
 * none the send-only one. Start-up only.
 */
export async function steeringFailure(family: number): Promise<string | undefined> {
  const c = libc();
  if (c === null) return "libc could not be loaded";
  const host = family === AF_INET6 ? "::1" : "127.0.0.1";
  let got = 0;
  const relay = await Bun.udpSocket({ hostname: host, socket: { data: () => void got++ } });
  const probes: Bun.udp.Socket<"buffer">[] = [];
  let send: SendSocket | string = "not opened";
  try {
    const relayFd = fdOf(relay);
    if (relayFd === undefined) return "the socket has no fd property (Bun changed?)";
    send = openSendSocket(relayFd, 0);
    if (typeof send === "string") return `send-only socket: ${send}`;
    for (let i = 0; i < STEERING_PROBES; i++) probes.push(await Bun.udpSocket({ hostname: host }));
    for (const probe of probes) probe.send("steering probe", relay.port, host);
    const deadline = performance.now() + STEERING_CHECK_MS;
    while (got < STEERING_PROBES && performance.now() < deadline) await Bun.sleep(1);
    const strayed = c.recv(send.fd, new Uint8Array(64), MSG_DONTWAIT) >= 0;
    if (strayed || got < STEERING_PROBES) return `send-only socket: ${got} of ${STEERING_PROBES} probes reached the relay's socket${strayed ? ", one reached the send-only socket" : ""}`;
    return undefined;
  } finally {
    for (const probe of probes) probe.close();
    if (typeof send !== "string") closeSendSocket(send);
    relay.close();
  }
}

// The sendmmsg send path: one libc sendmmsg per batch over preallocated message headers that mirror the registry's slots.

import { ptr } from "bun:ffi";
import type { SendPathMode } from "./config.ts";
import type { SlotSender } from "./fanout.ts";
import { fdOf, type Libc, libc } from "./libc.ts";
import type { SlotMirror } from "./registry.ts";
import { closeSendSocket, openSendSocket, type SendSocket, steeringFailure } from "./send-socket.ts";
import { AF_INET, AF_INET6, encodeSockaddr } from "./sockaddr.ts";
import { socketFamily } from "./sockopt.ts";

// struct layouts on LP64 Linux (x86_64 and aarch64 agree): msghdr is 56 bytes, mmsghdr adds msg_len and padding.
/** sizeof(struct mmsghdr). */
export const MMSGHDR_BYTES = 64;
/** sizeof(struct iovec). */
export const IOVEC_BYTES = 16;
/** Room for one slot's address: a sockaddr_in6 (28 bytes) rounded up to keep every slot 8-byte aligned. */
export const SLOT_ADDRESS_BYTES = 32;
const HDR_WORDS = MMSGHDR_BYTES / 4;
const ADDRESS_WORDS = SLOT_ADDRESS_BYTES / 4;
// 32-bit word offsets in one mmsghdr: msg_name (ptr), msg_namelen (u32), msg_iov (ptr), msg_iovlen (size_t).
const NAME = 0;
const NAMELEN = 2;
const IOV = 4;
const IOVLEN = 6;
const TWO_32 = 4294967296;
const EAGAIN = 11; // EWOULDBLOCK is the same number on Linux
const MSG_DONTWAIT = 0x40;

/** Slots preallocated before the first growth: a full default --send-batch. */
export const INITIAL_SLOTS = 1024;

/**
 * Sends the current frame to ranges of registry slots with sendmmsg(2) on the socket's fd, over an array of
 * mmsghdr built once: header i points at slot i's sockaddr (encoded at join time, moved with the registry's
 * swap-remove) and at one shared iovec, which `use` points at each frame. A line costs one pointer and one length
 * written, then one call per batch; nothing is allocated and no address is parsed.
 * Memory: every address handed to the kernel is inside an ArrayBuffer this object holds for its whole life and
 * never resizes or transfers; growing past the capacity allocates new buffers and rebuilds every header (at a
 * join, never inside a send). The frame is only pointed at for the synchronous calls that follow `use`.
 */
export class MmsgSender implements SlotSender, SlotMirror {
  private capacity = 0;
  private hdrWords = new Uint32Array(0);
  private hdrsAddress = 0;
  private addrs = new Uint8Array(0);
  private addrWords = new Uint32Array(0);
  private addrsAddress = 0;
  private readonly iovWords: Uint32Array;
  private readonly iovAddress: number;
  private readonly sendmmsg: Libc["sendmmsg"];
  /** The buffers the kernel reads from, referenced here so they live as long as this sender (the socket). */
  private readonly held: ArrayBuffer[] = [];
  /** errno of the last call that returned -1 (EAGAIN included), for tests and logs. */
  lastErrno = 0;

  constructor(
    private readonly c: Libc,
    private fd: number,
    /** AF_INET or AF_INET6: the socket's, which decides how addresses are encoded. */
    readonly family: number,
    capacity = INITIAL_SLOTS,
  ) {
    // Views are made over an ArrayBuffer first, then pointed at: its storage never moves.
    const iov = new ArrayBuffer(IOVEC_BYTES);
    this.held.push(iov);
    this.iovWords = new Uint32Array(iov);
    this.iovAddress = ptr(this.iovWords);
    this.sendmmsg = c.sendmmsg;
    this.grow(Math.max(1, capacity));
  }

  /** Slots the headers have room for now. */
  get slots(): number {
    return this.capacity;
  }

  /** No more sends: each later call fails with EBADF, never reaching an fd number that was reused. */
  retire(): void {
    this.fd = -1;
  }

  /** Points the shared iovec at `frame` for the calls that follow (it must stay alive until they return). */
  // hot path: once per line
  use(frame: Uint8Array): void {
    const p = ptr(frame);
    const w = this.iovWords;
    const lo = p % TWO_32;
    w[0] = lo;
    w[1] = (p - lo) / TWO_32;
    w[2] = frame.length;
  }

  /** Sends to slots [from, to): the count sent, 0 when the socket buffer is full (EAGAIN), -1 for an error at `from`. */
  // hot path: one call per batch
  sendSlots(from: number, to: number): number {
    const sent = this.sendmmsg(this.fd, this.hdrsAddress + from * MMSGHDR_BYTES, to - from, MSG_DONTWAIT);
    if (sent >= 0) return sent;
    const errno = this.c.errno();
    this.lastErrno = errno;
    return errno === EAGAIN ? 0 : -1;
  }

  set(slot: number, address: string, port: number): void {
    if (slot >= this.capacity) this.grow(Math.max(slot + 1, this.capacity * 2));
    this.hdrWords[slot * HDR_WORDS + NAMELEN] = encodeSockaddr(this.family, address, port, this.addrs, slot * SLOT_ADDRESS_BYTES);
  }

  move(from: number, to: number): void {
    const at = from * SLOT_ADDRESS_BYTES;
    this.addrs.copyWithin(to * SLOT_ADDRESS_BYTES, at, at + SLOT_ADDRESS_BYTES);
    this.hdrWords[to * HDR_WORDS + NAMELEN] = this.hdrWords[from * HDR_WORDS + NAMELEN]!;
  }

  // hot path with --no-echo: once per line
  swap(a: number, b: number): void {
    const w = this.addrWords;
    const i = a * ADDRESS_WORDS;
    const j = b * ADDRESS_WORDS;
    for (let k = 0; k < ADDRESS_WORDS; k++) {
      const t = w[i + k]!;
      w[i + k] = w[j + k]!;
      w[j + k] = t;
    }
    const h = this.hdrWords;
    const t = h[a * HDR_WORDS + NAMELEN]!;
    h[a * HDR_WORDS + NAMELEN] = h[b * HDR_WORDS + NAMELEN]!;
    h[b * HDR_WORDS + NAMELEN] = t;
  }

  /** Cold path: new buffers for `capacity` slots, the addresses copied over, every header rebuilt. */
  private grow(capacity: number): void {
    const hdrs = new ArrayBuffer(capacity * MMSGHDR_BYTES);
    const addrs = new ArrayBuffer(capacity * SLOT_ADDRESS_BYTES);
    const hdrWords = new Uint32Array(hdrs);
    const addrBytes = new Uint8Array(addrs);
    addrBytes.set(this.addrs);
    const hdrsAddress = ptr(hdrWords);
    const addrsAddress = ptr(addrBytes);
    for (let i = 0; i < capacity; i++) {
      const h = i * HDR_WORDS;
      writePointer(hdrWords, h + NAME, addrsAddress + i * SLOT_ADDRESS_BYTES);
      hdrWords[h + NAMELEN] = i < this.capacity ? this.hdrWords[h + NAMELEN]! : 0;
      writePointer(hdrWords, h + IOV, this.iovAddress);
      hdrWords[h + IOVLEN] = 1;
    }
    // The old buffers may go only now: nothing points at them once the new headers are in place.
    this.held.length = 1;
    this.held.push(hdrs, addrs);
    this.hdrWords = hdrWords;
    this.hdrsAddress = hdrsAddress;
    this.addrs = addrBytes;
    this.addrWords = new Uint32Array(addrs);
    this.addrsAddress = addrsAddress;
    this.capacity = capacity;
  }

  /** Where slot `slot`'s sockaddr lives (tests check the headers point there). */
  addressOf(slot: number): number {
    return this.addrsAddress + slot * SLOT_ADDRESS_BYTES;
  }
}

function writePointer(words: Uint32Array, at: number, address: number): void {
  const lo = address % TWO_32;
  words[at] = lo;
  words[at + 1] = (address - lo) / TWO_32;
}

/** The send path a relay's socket uses, and the start-up line that says so. */
export interface SendPath {
  readonly name: "sendmmsg" | "bun";
  /** The sendmmsg sender, or undefined for Bun's sendMany. */
  readonly sender: MmsgSender | undefined;
  /** Why: the start-up line's tail. */
  readonly why: string;
  /** After the relay's socket is closed: no more sends, and the send-only socket (if any) closed. */
  close(): void;
}

/** `--send-path sendmmsg` was asked for and cannot work here; the message says why. */
export class SendPathError extends Error {
  override readonly name = "SendPathError";
}

/** How the sendmmsg path may send. */
export interface SendPathOptions {
  /**
   * Send through a send-only socket beside the relay's (send-socket.ts). Not for a worker: its socket is in a
   * SO_REUSEPORT group shared with the other workers, which the send-only socket's steering would take over.
   */
  readonly sendOnlySocket: boolean;
  /** SO_SNDBUF for the send-only socket (0 = the kernel's default). */
  readonly sendBufferBytes: number;
}

/**
 * Resolves `--send-path` for `socket`: `bun` as told; otherwise sendmmsg where it works here (Linux, libc loaded,
 * an fd, a known family, and a self-check datagram sent through it arrives intact), else Bun's sendMany for
 * `auto`, or SendPathError for `sendmmsg`. The sendmmsg path sends through a send-only socket where one can be
 * opened and passes its checks, else through the relay's own socket (the start-up line says which, and why).
 */
export async function chooseSendPath(mode: SendPathMode, socket: Bun.udp.Socket<"buffer">, options: SendPathOptions): Promise<SendPath> {
  if (mode === "bun") return { name: "bun", sender: undefined, why: "--send-path bun", close() {} };
  const unusable = preconditionFailure(socket);
  if (unusable !== undefined) return withoutSendmmsg(mode, unusable);
  const c = libc()!;
  const fd = fdOf(socket)!;
  const family = socketFamily(socket)!;
  let why = "; a worker shares its port's SO_REUSEPORT group, so no send-only socket";
  if (options.sendOnlySocket) {
    // Its self-check also proves the headers and the FFI call: the relay's own socket needs no check of its own then.
    const sendOnly = await checkedSendSocket(c, fd, family, socket.port, options.sendBufferBytes);
    if (typeof sendOnly !== "string") {
      return sendmmsgPath(new MmsgSender(c, sendOnly.fd, family), `libc sendmmsg on a send-only socket (fd ${sendOnly.fd}) beside the relay's (fd ${fd}), self-check passed`, sendOnly);
    }
    why = `; no send-only socket: ${sendOnly}`;
  }
  const failure = await selfCheck(new MmsgSender(c, fd, family, 2), family);
  if (failure !== undefined) return withoutSendmmsg(mode, failure);
  return sendmmsgPath(new MmsgSender(c, fd, family), `libc sendmmsg on the relay's socket (fd ${fd}), self-check passed${why}`);
}

// Bun's sendMany, where sendmmsg cannot work: for `auto`; `--send-path sendmmsg` asked for it and fails at start-up.
function withoutSendmmsg(mode: SendPathMode, failure: string): SendPath {
  if (mode === "sendmmsg") throw new SendPathError(`--send-path sendmmsg: ${failure}`);
  return { name: "bun", sender: undefined, why: `sendmmsg unavailable: ${failure}`, close() {} };
}

function sendmmsgPath(sender: MmsgSender, why: string, sendOnly?: SendSocket): SendPath {
  return {
    name: "sendmmsg",
    sender,
    why,
    close() {
      sender.retire();
      if (sendOnly !== undefined) closeSendSocket(sendOnly);
    },
  };
}

// A send-only socket beside `fd` that passed the steering check and the self-check (from the relay's `port`), or why not.
async function checkedSendSocket(c: Libc, fd: number, family: number, port: number, sendBytes: number): Promise<SendSocket | string> {
  const steeringFailed = await steeringOnce(family);
  if (steeringFailed !== undefined) return steeringFailed;
  const sendOnly = openSendSocket(fd, sendBytes);
  if (typeof sendOnly === "string") return sendOnly;
  const failed = await selfCheck(new MmsgSender(c, sendOnly.fd, family, 2), family, port);
  if (failed === undefined) return sendOnly;
  closeSendSocket(sendOnly);
  return failed;
}

const steering = new Map<number, Promise<string | undefined>>();
/** steeringFailure, run once per process and family: what it checks is the kernel's, which does not change under us. */
function steeringOnce(family: number): Promise<string | undefined> {
  let check = steering.get(family);
  if (check === undefined) steering.set(family, (check = steeringFailure(family)));
  return check;
}

/** Why the sendmmsg path cannot be used on `socket` at all (platform, libc, fd, family), or undefined. */
function preconditionFailure(socket: object): string | undefined {
  if (process.platform !== "linux") return `not Linux (${process.platform})`;
  if (process.arch !== "x64" && process.arch !== "arm64") return `struct layouts unchecked on ${process.arch}`;
  if (libc() === null) return "libc.so.6 (sendmmsg, __errno_location) could not be loaded through bun:ffi";
  if (fdOf(socket) === undefined) return "the socket has no fd property (Bun changed?)";
  const family = socketFamily(socket);
  if (family !== AF_INET && family !== AF_INET6) return "the socket's address family could not be read";
  return undefined;
}

/** Why the sendmmsg path cannot be used on `socket`, or undefined when its self-check passed. */
export async function sendmmsgFailure(socket: object): Promise<string | undefined> {
  const unusable = preconditionFailure(socket);
  if (unusable !== undefined) return unusable;
  const family = socketFamily(socket)!;
  return selfCheck(new MmsgSender(libc()!, fdOf(socket)!, family, 2), family);
}

const SELF_CHECK_MS = 1000;

// Two datagrams to a throwaway loopback socket through `sender`'s headers; both must arrive byte-exact (and from
// `fromPort`, when given: a send-only socket must send from the relay's port).
async function selfCheck(sender: MmsgSender, family: number, fromPort?: number): Promise<string | undefined> {
  const host = family === AF_INET6 ? "::1" : "127.0.0.1";
  const probe = new TextEncoder().encode(`sendmmsg self-check ${process.pid} ${Math.random()}`);
  const got: Uint8Array[] = [];
  let from = fromPort;
  let receiver: Bun.udp.Socket<"buffer">;
  try {
    receiver = await Bun.udpSocket({
      hostname: host,
      socket: {
        data: (_s, data, port) => {
          got.push(Uint8Array.from(data));
          if (port !== fromPort) from = port;
        },
      },
    });
  } catch (err) {
    return `self-check: no loopback socket on ${host} (${(err as Error).message})`;
  }
  try {
    sender.set(0, host, receiver.port);
    sender.set(1, host, receiver.port);
    sender.use(probe);
    const sent = sender.sendSlots(0, 2);
    if (sent !== 2) return `self-check: sendmmsg sent ${sent} of 2 (errno ${sender.lastErrno})`;
    const deadline = performance.now() + SELF_CHECK_MS;
    while (got.length < 2 && performance.now() < deadline) await Bun.sleep(1);
    if (got.length < 2) return `self-check: ${got.length} of 2 datagrams arrived on ${host}`;
    if (!got.every((g) => g.length === probe.length && g.every((b, i) => b === probe[i]))) return "self-check: the datagram arrived altered";
    if (fromPort !== undefined && from !== fromPort) return `self-check: the datagram came from port ${from}, not the relay's ${fromPort}`;
    return undefined;
  } finally {
    receiver.close();
  }
}

/** Header bytes, for tests: a copy of slot `slot`'s mmsghdr as the kernel would read it. */
export function headerBytes(sender: MmsgSender, slot: number): Uint8Array {
  const words = (sender as unknown as { hdrWords: Uint32Array }).hdrWords;
  return new Uint8Array(words.buffer, slot * MMSGHDR_BYTES, MMSGHDR_BYTES).slice();
}


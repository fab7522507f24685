// The fan-out engine: one frame to every registered client with batched sendMany, resumed past errors, queued under backpressure.

import type { Client, PacketSlot, Registry } from "./registry.ts";
import { FANOUT_TIMED_EVERY, FanoutTimes, type RelayStats } from "./stats.ts";

/** The part of a UDP socket fan-out needs. `Bun.udpSocket` satisfies it. */
export interface BatchSender {
  sendMany(packets: readonly PacketSlot[]): number;
}

/**
 * A send path that reaches registry slots itself (sendmmsg.ts: native headers mirrored from the registry), so
 * a line needs no packet array at all. Its results mean what `sendBatch`'s do.
 */
export interface SlotSender {
  /** Points the following `sendSlots` calls at `frame`, which stays alive and unchanged until they return. */
  use(frame: Uint8Array): void;
  /** Sends to slots [from, to): the count sent from `from` on, 0 for a full socket buffer, -1 for an error at `from`. */
  sendSlots(from: number, to: number): number;
}

/** A backlog entry: the recipients still owed a frame, with their own copy of it, sent from `head` on. */
interface Pending {
  readonly packets: PacketSlot[];
  /** Element index of the first triple not yet sent or dropped. */
  head: number;
  /** What the entry holds (`entryBytes`), counted in the backlog's bytes until the entry is done. */
  readonly bytes: number;
  /** `address port` of a single-recipient entry (`sendTo`), counted per destination too; undefined for broadcasts. */
  readonly destination: string | undefined;
}

/** Stands in for a finished entry until the backlog array is compacted, so its frame and packets can be collected. */
const DONE: Pending = Object.freeze({ packets: [], head: 0, bytes: 0, destination: undefined });

/**
 * Owns the reusable output buffer and sends frames over the registry's packet arrays, one `sendMany` per chunk
 * of `--send-batch` recipients. `sendBatch` (below) makes each call's outcome one number:
 * - all sent: the common case, and the only one the hot path handles;
 * - a short count n: packet n was not sent. On Linux that is an error owed to an earlier datagram (ICMP port
 *   unreachable from a vanished client), taken by packet n and discarded by `sendmmsg`, or a socket buffer that
 *   filled up mid-batch. The retry from packet n tells them apart: progress means it was an error (one
 *   `sendErrors`), 0 means a full buffer. A short count with nothing wrong (a native batch boundary, never seen
 *   on Bun 1.4.5) looks the same and is counted the same; delivery does not depend on it;
 * - -1, the error reported at the first packet: counted and retried; a destination refused MAX_ERRORS_AT_HEAD
 *   times in a row is dropped as `unsendable`;
 * - 0, a full socket buffer (EAGAIN): the rest is copied to a bounded backlog (`queue_overflow` when it would
 *   not fit) and sent, in order, from the socket's `drain` callback. Nothing overtakes the backlog.
 * The backlog is bounded in datagrams (`--send-queue`) and in the bytes it holds (`--send-queue-bytes`, see
 * `entryBytes`). Single-recipient sends (notices, /msg) give way first: each destination may hold at most
 * PER_DESTINATION_BACKLOG_BYTES, and none queue once the backlog is over half its bytes, which leaves that half
 * to broadcasts. An entry refused by any cap is dropped whole as `queue_overflow`.
 * Resuming goes by index: after a short count the rest goes out in windows sized from the run before the
 * error and doubling while they go through, copied into one reused scratch array, so K errors in a batch of N
 * cost O(N + K) work, not a copy and an address parse of the remainder per error.
 */
export class FanOut {
  /** Frames are assembled here: prefix + payload, reused for every line. */
  private readonly out: Uint8Array;
  private readonly views: (Uint8Array | undefined)[];
  /** Resume windows are copied here: one array for the FanOut's life, grown when needed, never shrunk. */
  private readonly scratch: PacketSlot[] = [];
  private readonly backlog: Pending[] = [];
  private backlogHead = 0;
  private backlogPackets = 0;
  private backlogBytes = 0;
  /** Bytes of single-recipient entries queued for each `address port`; a destination leaves at 0. */
  private readonly destinationBytes = new Map<string, number>();
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Broadcasts so far: every FANOUT_TIMED_EVERY-th is timed. */
  private broadcasts = 0;
  /** How long broadcasts take, one in FANOUT_TIMED_EVERY timed (the admin endpoint's histogram). */
  readonly times = new FanoutTimes();

  constructor(
    private readonly socket: BatchSender,
    private readonly registry: Registry,
    private readonly stats: RelayStats,
    maxFrameBytes: number,
    private readonly maxBacklogPackets: number,
    /** Bytes the backlog may hold (`--send-queue-bytes`); 0 = no byte caps, datagrams only. */
    private readonly maxBacklogBytes = 0,
    /**
     * The sendmmsg path (--send-path), or undefined for `socket.sendMany` alone. Broadcasts go through it while
     * the backlog is empty; the backlog, notices to one client and anything queued behind it go through
     * `socket.sendMany`, because only Bun's own sends arm its `drain` callback.
     */
    private readonly direct: SlotSender | undefined = undefined,
  ) {
    this.out = new Uint8Array(maxFrameBytes);
    this.views = new Array<Uint8Array | undefined>(maxFrameBytes + 1);
  }

  /** Datagrams waiting for the socket to drain. */
  get backlogSize(): number {
    return this.backlogPackets;
  }

  /** Bytes the backlog holds, as `entryBytes` counts them: what `--send-queue-bytes` caps. */
  get backlogByteSize(): number {
    return this.backlogBytes;
  }

  /**
   * Copies `prefix + payload` into the output buffer and returns it as a frame. The view for each length
   * is made once and kept, so a run of equal-length lines reuses the packet array's payload slots as is.
   */
  // hot path
  frame(prefix: Uint8Array, payload: Uint8Array): Uint8Array {
    const len = prefix.length + payload.length;
    this.out.set(prefix, 0);
    this.out.set(payload, prefix.length);
    let view = this.views[len];
    if (view === undefined) {
      view = this.out.subarray(0, len);
      this.views[len] = view;
    }
    return view;
  }

  /** Sends `frame` to every registered client: one `sendMany` per registry chunk (`--send-batch` recipients). */
  // hot path
  broadcast(frame: Uint8Array): void {
    const direct = this.direct;
    if (direct !== undefined && this.backlogPackets === 0) {
      this.sendSlots(direct, frame, this.registry.size);
      return;
    }
    const chunks = this.registry.chunks;
    const n = chunks.length;
    if (n === 0) return;
    // All payload slots always hold the same frame (the registry copies the first on join).
    if (chunks[0]![0] !== frame) setPayload(chunks, frame);
    if (++this.broadcasts % FANOUT_TIMED_EVERY !== 0) {
      for (let k = 0; k < n; k++) this.send(chunks[k]!, frame, false);
      return;
    }
    const startMs = performance.now();
    for (let k = 0; k < n; k++) this.send(chunks[k]!, frame, false);
    this.times.record(performance.now() - startMs);
  }

  /** Sends `frame` to every registered client but `except` (--no-echo). */
  // hot path
  broadcastExcept(frame: Uint8Array, except: Client): void {
    const registry = this.registry;
    const direct = this.direct;
    if (direct !== undefined && this.backlogPackets === 0) {
      if (registry.size === 0) return;
      // The sender's slot goes last (its mirrored address with it), and the call stops short of it.
      registry.moveToEnd(except);
      this.sendSlots(direct, frame, registry.size - 1);
      return;
    }
    const chunks = registry.chunks;
    const n = chunks.length;
    if (n === 0) return;
    if (chunks[0]![0] !== frame) setPayload(chunks, frame);
    // Park the sender's triple at the very end, send the others, put it back: three pops, three pushes.
    registry.moveToEnd(except);
    const tail = chunks[n - 1]!;
    const address = tail.pop()!;
    const port = tail.pop()!;
    const payload = tail.pop()!;
    const timed = ++this.broadcasts % FANOUT_TIMED_EVERY === 0;
    const startMs = timed ? performance.now() : 0;
    for (let k = 0; k < n; k++) {
      const chunk = chunks[k]!;
      if (chunk.length > 0) this.send(chunk, frame, false);
    }
    if (timed) this.times.record(performance.now() - startMs);
    tail.push(payload, port, address);
  }

  /** Sends one datagram to one address, in order behind any backlog. Cold path: notices to one client. */
  sendTo(frame: Uint8Array, port: number, address: string): void {
    this.send([frame, port, address], frame, true);
  }

  /** The socket's `drain` callback: sends the backlog, oldest first, until it is empty or the socket is full again. */
  drain(): void {
    this.flushBacklog();
  }

  /** Counts everything still in the backlog as dropped for `shutdown` and forgets it. */
  abandonBacklog(): void {
    this.stats.drops.shutdown += this.backlogPackets;
    this.backlog.length = 0;
    this.backlogHead = 0;
    this.backlogPackets = 0;
    this.backlogBytes = 0;
    this.destinationBytes.clear();
  }

  // hot path: the sendmmsg path, one call per --send-batch slots of [0, end) in the common case
  private sendSlots(direct: SlotSender, frame: Uint8Array, end: number): void {
    direct.use(frame);
    const batch = this.registry.chunkClients;
    for (let at = 0; at < end; at += batch) {
      const to = at + batch < end ? at + batch : end;
      const sent = direct.sendSlots(at, to);
      if (sent === to - at) {
        this.stats.deliveries += sent;
        continue;
      }
      const stop = this.resumeSlots(direct, at, to, sent);
      if (stop < to) {
        this.stats.backpressureEvents++;
        this.enqueueSlots(stop, end, frame);
        return;
      }
    }
  }

  /**
   * Cold path: `resume` for the sendmmsg path, in slots. No windows and no copies: a call from any slot on is
   * just a later header address, and the kernel stops at the next error by itself, so K errors cost O(N + K).
   */
  private resumeSlots(direct: SlotSender, at: number, end: number, sent: number): number {
    let errorsAtHead = 0;
    let shortBefore = false;
    for (;;) {
      if (sent > 0) {
        this.stats.deliveries += sent;
        if (shortBefore) this.stats.sendErrors++;
        at += sent;
        errorsAtHead = 0;
        shortBefore = at < end;
      } else if (sent < 0) {
        this.stats.sendErrors++;
        shortBefore = false;
        if (++errorsAtHead < MAX_ERRORS_AT_HEAD) {
          sent = direct.sendSlots(at, end);
          continue;
        }
        this.stats.drops.unsendable++;
        at += 1;
        errorsAtHead = 0;
      } else {
        return at;
      }
      if (at === end) return end;
      sent = direct.sendSlots(at, end);
    }
  }

  /**
   * Cold path: the sendmmsg path met a full socket buffer at slot `from`. Slots [from, end) are queued as the
   * Bun path queues them, from the registry's packet arrays, and the backlog is tried at once through
   * `sendMany`: on a still-full buffer that arms Bun's `drain` callback, which the FFI call cannot.
   */
  private enqueueSlots(from: number, end: number, frame: Uint8Array): void {
    const chunks = this.registry.chunks;
    const batch = this.registry.chunkClients;
    for (let k = (from / batch) | 0; k * batch < end; k++) {
      const first = k * batch;
      const chunk = chunks[k]!;
      const stop = Math.min(end - first, chunk.length / 3) * 3;
      const start = Math.max(0, from - first) * 3;
      if (start < stop) this.enqueue(chunk, start, stop, frame, false);
    }
    this.flushBacklog();
  }

  // hot path: one sendMany for a chunk (or one packet) in the common case; `single`: a `sendTo`
  private send(packets: PacketSlot[], frame: Uint8Array, single: boolean): void {
    if (this.backlogPackets > 0) {
      // Never overtake queued lines: clients rely on seeing them in order.
      this.enqueue(packets, 0, packets.length, frame, single);
      return;
    }
    const sent = sendBatch(this.socket, packets);
    if (sent * 3 === packets.length) {
      this.stats.deliveries += sent;
      this.stats.bytesSent += sent * frame.length;
      return;
    }
    this.resumeOrQueue(packets, sent, frame, single);
  }

  // Cold path, out of line so the hot path above stays as small as it was: a short or failed call.
  private resumeOrQueue(packets: PacketSlot[], sent: number, frame: Uint8Array, single: boolean): void {
    const stop = this.resume(packets, 0, packets, sent);
    if (stop === packets.length) return;
    // The socket buffer is full: queue the rest for `drain`.
    this.stats.backpressureEvents++;
    this.enqueue(packets, stop, packets.length, frame, single);
  }

  /**
   * Cold path: carries on after `sent` came back from a call over `call`, which held `packets[at, at + call.length)`,
   * until everything from `at` on is sent or dropped, or the socket is full. Returns the element index of the
   * first packet left unsent for a full socket buffer, or `packets.length`.
   */
  private resume(packets: readonly PacketSlot[], at: number, call: readonly PacketSlot[], sent: number): number {
    const end = packets.length;
    let callEnd = at + call.length;
    let window = MIN_WINDOW_PACKETS * 3;
    let errorsAtHead = 0;
    // A short count not yet told apart from a buffer that filled mid-batch: the next call decides.
    let shortBefore = false;
    for (;;) {
      if (sent > 0) {
        this.stats.deliveries += sent;
        // Every payload slot of one entry holds the same frame.
        this.stats.bytesSent += sent * (packets[at] as Uint8Array).length;
        if (shortBefore) this.stats.sendErrors++; // the retry went through: that short count was an error
        at += sent * 3;
        errorsAtHead = 0;
        shortBefore = at < callEnd;
        // After a short count the next window is twice the run that just went through, and it doubles while
        // windows go through: an error wastes at most about the gap before it, so K errors in N recipients
        // cost O(N + K) copying and parsing instead of a pass over the remainder each.
        window = shortBefore ? Math.max(MIN_WINDOW_PACKETS * 3, sent * 6) : window * 2;
      } else if (sent < 0) {
        this.stats.sendErrors++;
        shortBefore = false;
        if (++errorsAtHead < MAX_ERRORS_AT_HEAD) {
          // `at` has not moved: the same array, untouched since, goes again.
          sent = sendBatch(this.socket, call);
          continue;
        }
        // Refused again and again: this destination cannot be reached. Drop it, go on with the rest.
        this.stats.drops.unsendable++;
        at += 3;
        errorsAtHead = 0;
      } else {
        // Nothing went out and nothing was wrong: the socket buffer is full.
        return at;
      }
      if (at === end) return end;
      callEnd = Math.min(end, at + window);
      call = this.window(packets, at, callEnd);
      sent = sendBatch(this.socket, call);
    }
  }

  /** `packets[from, to)` as an array for `sendMany`: the array itself when that is all of it, else the scratch copy. */
  private window(packets: readonly PacketSlot[], from: number, to: number): readonly PacketSlot[] {
    if (from === 0 && to === packets.length) return packets;
    const scratch = this.scratch;
    const n = to - from;
    for (let i = 0; i < n; i++) scratch[i] = packets[from + i]!;
    scratch.length = n;
    return scratch;
  }

  private enqueue(packets: readonly PacketSlot[], from: number, to: number, frame: Uint8Array, single: boolean): void {
    const count = (to - from) / 3;
    const bytes = entryBytes(frame.length, count);
    const destination = single && this.maxBacklogBytes > 0 ? destinationKey(packets) : undefined;
    if (this.backlogPackets + count > this.maxBacklogPackets || !this.bytesFit(bytes, destination)) {
      this.stats.drops.queue_overflow += count;
      return;
    }
    // The frame lives in the reused output buffer and the packet array is the registry's: the backlog needs copies.
    const copy = frame.slice();
    const own = packets.slice(from, to);
    for (let i = 0; i < own.length; i += 3) own[i] = copy;
    this.backlog.push({ packets: own, head: 0, bytes, destination });
    this.backlogPackets += count;
    this.backlogBytes += bytes;
    if (destination !== undefined) this.destinationBytes.set(destination, (this.destinationBytes.get(destination) ?? 0) + bytes);
    this.armRetry();
  }

  /**
   * Whether an entry of `bytes` may join the backlog under the byte caps. A single-recipient one (`destination`)
   * must also find the backlog at most half full and its destination under PER_DESTINATION_BACKLOG_BYTES, though
   * a destination with nothing queued may always have one datagram, whatever its size.
   */
  private bytesFit(bytes: number, destination: string | undefined): boolean {
    const max = this.maxBacklogBytes;
    if (max === 0) return true;
    if (this.backlogBytes + bytes > max) return false;
    if (destination === undefined) return true;
    if (this.backlogBytes > max / 2) return false;
    const held = this.destinationBytes.get(destination);
    return held === undefined || held + bytes <= PER_DESTINATION_BACKLOG_BYTES;
  }

  /** Takes a finished entry's bytes off the backlog's counts. */
  private release(job: Pending): void {
    this.backlogBytes -= job.bytes;
    const destination = job.destination;
    if (destination === undefined) return;
    const left = this.destinationBytes.get(destination)! - job.bytes;
    if (left > 0) this.destinationBytes.set(destination, left);
    else this.destinationBytes.delete(destination);
  }

  private flushBacklog(): void {
    while (this.backlogHead < this.backlog.length) {
      const job = this.backlog[this.backlogHead]!;
      const packets = job.packets;
      const head = job.head;
      // A fresh entry goes out whole; one cut short by an earlier drain resumes in windows from its head.
      const call = this.window(packets, head, head === 0 ? packets.length : Math.min(packets.length, head + MIN_WINDOW_PACKETS * 3));
      const stop = this.resume(packets, head, call, sendBatch(this.socket, call));
      this.backlogPackets -= (stop - head) / 3;
      job.head = stop;
      if (stop < packets.length) break; // still full: wait for the next drain
      this.release(job);
      this.backlog[this.backlogHead++] = DONE;
    }
    if (this.backlogHead === this.backlog.length) {
      this.backlog.length = 0;
      this.backlogHead = 0;
    } else {
      if (this.backlogHead > 1024) {
        this.backlog.splice(0, this.backlogHead);
        this.backlogHead = 0;
      }
      this.armRetry();
    }
  }

  // Safety net: Bun calls `drain` once the socket is writable again; should that ever not happen, a timer retries.
  private armRetry(): void {
    if (this.retryTimer !== undefined) return;
    this.retryTimer = setTimeout(this.retryTick, 50);
  }

  private readonly retryTick = (): void => {
    this.retryTimer = undefined;
    if (this.backlogPackets > 0) this.flushBacklog();
  };
}

// Cold path for runs of equal-length lines: only a new frame view rewrites the payload slots (~1 ns a recipient).
function setPayload(chunks: PacketSlot[][], frame: Uint8Array): void {
  for (let k = 0; k < chunks.length; k++) {
    const chunk = chunks[k]!;
    for (let i = 0; i < chunk.length; i += 3) chunk[i] = frame;
  }
}

/** The backlog bytes of one queued entry: its frame copy, its packet triples, and the objects around them. */
export function entryBytes(frameBytes: number, recipients: number): number {
  return ENTRY_OVERHEAD_BYTES + frameBytes + recipients * RECIPIENT_BYTES;
}

/**
 * What a backlog entry costs beyond its frame and triples: the entry object, its packet array and the frame
 * copy's typed array and buffer. Measured on Bun 1.4.5 at ~250 bytes of RSS an entry (200 000 entries).
 */
export const ENTRY_OVERHEAD_BYTES = 256;

/** One recipient in a packet array: three 8-byte slots (payload, port, address; the address string is shared). */
export const RECIPIENT_BYTES = 24;

/**
 * Most bytes (`entryBytes`) of single-recipient entries one destination may hold in the backlog: about 30 full
 * 2 KB lines, plenty for /help or a burst of /msg, and a thousand such destinations hold at most 64 MiB.
 */
export const PER_DESTINATION_BACKLOG_BYTES = 64 * 1024;

// Cold path: the per-destination key of a sendTo's one triple.
function destinationKey(packets: readonly PacketSlot[]): string {
  return `${packets[2] as string} ${packets[1] as number}`;
}

/** A destination refused this many times in a row, with progress impossible, is dropped as unsendable. */
export const MAX_ERRORS_AT_HEAD = 3;

/**
 * The smallest resume window, in recipients. Errors packed closer than this waste up to this many re-read
 * packets each; a clean remainder after an early error takes log2(remainder / this) calls.
 */
export const MIN_WINDOW_PACKETS = 8;

/**
 * `sendMany`, with its two failure shapes made one number. Measured on Bun 1.4.5: it returns how many packets
 * went out, 0 when the socket buffer is full (EAGAIN), and throws when the kernel fails the *first* packet
 * with an error — typically ECONNREFUSED owed to an earlier datagram whose ICMP port-unreachable came back.
 * That throw is expected traffic, not a bug, so it becomes -1 here, once, in one place.
 */
// hot path
export function sendBatch(socket: BatchSender, packets: readonly PacketSlot[]): number {
  try {
    return socket.sendMany(packets);
  } catch {
    return -1;
  }
}

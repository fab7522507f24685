// The fan-out engine: one frame to every registered client with batched sendMany, resumed past errors, queued under backpressure.

import type { Client, PacketSlot, Registry } from "./registry.ts";
import type { RelayStats } from "./stats.ts";

/** The part of a UDP socket fan-out needs. `Bun.udpSocket` satisfies it. */
export interface BatchSender {
  sendMany(packets: readonly PacketSlot[]): number;
}

/** A backlog entry: the recipients still owed a frame, with their own copy of it. */
interface Pending {
  packets: PacketSlot[];
}

/**
 * Owns the reusable output buffer and sends frames to the registry's packet array.
 *
 * `sendBatch` (below) returns how many packets went out, -1 for an error, 0 for a full socket buffer:
 * - an error reported for an *earlier* datagram (ICMP port unreachable from a vanished client) fails one
 *   packet once; sending resumes from the first unsent packet, so nothing is lost;
 * - a full socket buffer (EAGAIN) sends nothing; the rest is copied to a bounded backlog and sent, in
 *   order, from the socket's `drain` callback.
 */
export class FanOut {
  /** Frames are assembled here: prefix + payload, reused for every line. */
  private readonly out: Uint8Array;
  private readonly views: (Uint8Array | undefined)[];
  private readonly backlog: Pending[] = [];
  private backlogHead = 0;
  private backlogPackets = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly socket: BatchSender,
    private readonly registry: Registry,
    private readonly stats: RelayStats,
    maxFrameBytes: number,
    private readonly maxBacklogPackets: number,
  ) {
    this.out = new Uint8Array(maxFrameBytes);
    this.views = new Array<Uint8Array | undefined>(maxFrameBytes + 1);
  }

  /** Datagrams waiting for the socket to drain. */
  get backlogSize(): number {
    return this.backlogPackets;
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

  /** Sends `frame` to every registered client: one `sendMany` per chunk of the registry (CHUNK_CLIENTS). */
  // hot path
  broadcast(frame: Uint8Array): void {
    const chunks = this.registry.chunks;
    const n = chunks.length;
    if (n === 0) return;
    // All payload slots always hold the same frame (the registry copies the first on join).
    if (chunks[0]![0] !== frame) setPayload(chunks, frame);
    for (let k = 0; k < n; k++) this.send(chunks[k]!, frame);
  }

  /** Sends `frame` to every registered client but `except` (--no-echo). */
  // hot path
  broadcastExcept(frame: Uint8Array, except: Client): void {
    const registry = this.registry;
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
    for (let k = 0; k < n; k++) {
      const chunk = chunks[k]!;
      if (chunk.length > 0) this.send(chunk, frame);
    }
    tail.push(payload, port, address);
  }

  /** Sends one datagram to one address, in order behind any backlog. Cold path: notices to one client. */
  sendTo(frame: Uint8Array, port: number, address: string): void {
    this.send([frame, port, address], frame);
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
  }

  // hot path: one sendMany for a chunk (or one packet) in the common case
  private send(packets: PacketSlot[], frame: Uint8Array): void {
    if (this.backlogPackets > 0) {
      // Never overtake queued lines: clients rely on seeing them in order.
      this.enqueue(packets, frame);
      return;
    }
    const sent = sendBatch(this.socket, packets);
    if (sent * 3 === packets.length) {
      this.stats.deliveries += sent;
      return;
    }
    this.resume(packets, sent, frame);
  }

  // Cold path: a short send. Continue from the first unsent packet until all are sent or the socket is full.
  // Each slice copies at most the recipients left, and happens once per error, not per recipient.
  private resume(packets: PacketSlot[], sent: number, frame: Uint8Array): void {
    let rest = packets;
    let errorsAtHead = 0;
    let shortBefore = false;
    for (;;) {
      if (sent > 0) {
        this.stats.deliveries += sent;
        if (shortBefore) this.stats.sendErrors++; // the retry went through: that short count was an error
        rest = rest.slice(sent * 3);
        errorsAtHead = 0;
        shortBefore = true;
      } else if (sent < 0) {
        this.stats.sendErrors++;
        shortBefore = false;
        if (++errorsAtHead >= MAX_ERRORS_AT_HEAD) {
          // Refused again and again: this destination cannot be reached. Drop it, go on with the rest.
          this.stats.drops.unsendable++;
          rest = rest.slice(3);
          errorsAtHead = 0;
        }
      } else {
        // Nothing went out and nothing was wrong: the socket buffer is full. Queue the rest for `drain`.
        this.stats.backpressureEvents++;
        this.enqueue(rest, frame);
        return;
      }
      if (rest.length === 0) return;
      sent = sendBatch(this.socket, rest);
      if (sent * 3 === rest.length) {
        this.stats.deliveries += sent;
        if (shortBefore) this.stats.sendErrors++;
        return;
      }
    }
  }

  private enqueue(packets: PacketSlot[], frame: Uint8Array): void {
    const count = packets.length / 3;
    if (this.backlogPackets + count > this.maxBacklogPackets) {
      this.stats.drops.queue_overflow += count;
      return;
    }
    // The frame lives in the reused output buffer: the backlog needs its own copy.
    const copy = frame.slice();
    const own = packets.slice();
    for (let i = 0; i < own.length; i += 3) own[i] = copy;
    this.backlog.push({ packets: own });
    this.backlogPackets += count;
    this.armRetry();
  }

  private flushBacklog(): void {
    let errorsAtHead = 0;
    while (this.backlogHead < this.backlog.length) {
      const job = this.backlog[this.backlogHead]!;
      const sent = sendBatch(this.socket, job.packets);
      if (sent > 0) {
        this.stats.deliveries += sent;
        this.backlogPackets -= sent;
        errorsAtHead = 0;
        if (sent * 3 === job.packets.length) this.backlogHead++;
        else job.packets = job.packets.slice(sent * 3);
        continue;
      }
      if (sent === 0) break; // still full: wait for the next drain
      this.stats.sendErrors++;
      if (++errorsAtHead < MAX_ERRORS_AT_HEAD) continue;
      this.stats.drops.unsendable++;
      this.backlogPackets--;
      errorsAtHead = 0;
      if (job.packets.length === 3) this.backlogHead++;
      else job.packets = job.packets.slice(3);
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

/** A destination refused this many times in a row, with progress impossible, is dropped as unsendable. */
const MAX_ERRORS_AT_HEAD = 3;

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

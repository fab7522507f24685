// First-to-last recipient spread per message, across worker threads, in a ring of slots in shared memory.

/** Int32 fields per slot. */
const FIELDS = 4;
const TAG = 0;
const MIN = 1;
const MAX = 2;
const COUNT = 3;

/** Messages in flight the ring can follow at once; an older one still incomplete is overwritten. */
export const RING_SLOTS = 1 << 19;

/** The shared memory all workers of one run use (8 MiB). */
export function newSpreadMemory(): SharedArrayBuffer {
  return new SharedArrayBuffer(RING_SLOTS * FIELDS * 4);
}

/**
 * A message's slot holds its tag, the smallest and largest latency seen by any recipient so far, and how
 * many recipients have seen it. The sending worker opens the slot before the message leaves; each
 * receiving worker folds its latency in with compare-and-swap min/max and bumps the count; the delivery that
 * brings the count to the number of recipients completes the message and gets its spread (max − min).
 *
 * Atomics are sequentially consistent, so the completing worker sees every earlier min/max. A message
 * that loses a delivery never completes: it is left out of the spread (and shows up as loss instead).
 * Latencies are relative to the scheduled send time, so Int32 µs covers 35 minutes.
 */
export class SpreadRing {
  private readonly slots: Int32Array;

  constructor(memory: SharedArrayBuffer) {
    this.slots = new Int32Array(memory);
  }

  /** The ring key of `sender`'s message `seq`. */
  static key(sender: number, seq: number, totalSenders: number): number {
    return (seq * totalSenders + sender) % 0x7fffffff;
  }

  /** Called by the sender before the message leaves. */
  // hot path: once per send
  open(key: number): void {
    const at = (key % RING_SLOTS) * FIELDS;
    const s = this.slots;
    Atomics.store(s, at + MIN, 0x7fffffff);
    Atomics.store(s, at + MAX, 0);
    Atomics.store(s, at + COUNT, 0);
    Atomics.store(s, at + TAG, key);
  }

  /**
   * Folds one delivery in. Returns the message's spread in µs when this delivery completes it
   * (the `recipients`-th), else -1. A delivery whose slot has moved on to a newer message is ignored.
   */
  // hot path: once per delivery
  arrive(key: number, latencyUs: number, recipients: number): number {
    const at = (key % RING_SLOTS) * FIELDS;
    const s = this.slots;
    if (Atomics.load(s, at + TAG) !== key) return -1;
    const latency = latencyUs > 0x7fffffff ? 0x7fffffff : latencyUs;
    // No Atomics.min/max in JS: compare-and-swap until ours is not smaller (larger) than what is there.
    let seen = Atomics.load(s, at + MIN);
    while (latency < seen) {
      const was = Atomics.compareExchange(s, at + MIN, seen, latency);
      if (was === seen) break;
      seen = was;
    }
    seen = Atomics.load(s, at + MAX);
    while (latency > seen) {
      const was = Atomics.compareExchange(s, at + MAX, seen, latency);
      if (was === seen) break;
      seen = was;
    }
    if (Atomics.add(s, at + COUNT, 1) + 1 !== recipients) return -1;
    return Atomics.load(s, at + MAX) - Atomics.load(s, at + MIN);
  }
}

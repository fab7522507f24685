// Per (receiver, sender) sequence accounting: tells in-order, reordered and duplicate deliveries apart. Pure.

/** What one delivery was, seen from its receiver. */
export const Arrival = { inOrder: 0, reordered: 1, duplicate: 2, untracked: 3 } as const;
export type Arrival = (typeof Arrival)[keyof typeof Arrival];

/** How far back a late arrival can still be told from a duplicate: the width of the window bitmap. */
export const WINDOW = 32;

/**
 * For each (receiver, sender) pair: the highest sequence number seen and a 32-bit bitmap of which of the
 * 32 numbers up to it arrived (bit k = highest − k), the anti-replay window of IPsec. A number above the
 * highest is new (any gap it leaves may fill later); one inside the window is a duplicate if its bit is
 * set, else a late, reordered arrival; one older than the window is counted as reordered (it cannot be
 * checked, and on loopback it does not happen).
 *
 * Memory is 8 bytes a pair. Only the first `trackedReceivers` receivers are tracked, so a run with 10 000
 * clients that all send does not need 800 MB; the others count deliveries only (`untracked`).
 */
export class SequenceTracker {
  duplicates = 0;
  reordered = 0;
  readonly trackedReceivers: number;
  private readonly highest: Int32Array;
  private readonly window: Int32Array;

  constructor(
    receivers: number,
    private readonly senders: number,
    maxPairs: number,
  ) {
    this.trackedReceivers = senders === 0 ? receivers : Math.min(receivers, Math.floor(maxPairs / senders));
    const pairs = this.trackedReceivers * senders;
    this.highest = new Int32Array(pairs).fill(-1);
    this.window = new Int32Array(pairs);
  }

  /** Records that `receiver` got `sender`'s message `seq` and says what kind of arrival it was. */
  // hot path: once per delivery
  record(receiver: number, sender: number, seq: number): Arrival {
    if (receiver >= this.trackedReceivers) return Arrival.untracked;
    const at = receiver * this.senders + sender;
    const highest = this.highest[at]!;
    const ahead = seq - highest;
    if (ahead > 0) {
      this.window[at] = ahead >= WINDOW ? 1 : (this.window[at]! << ahead) | 1;
      this.highest[at] = seq;
      return Arrival.inOrder;
    }
    const back = -ahead;
    if (back >= WINDOW) {
      this.reordered++;
      return Arrival.reordered;
    }
    const bit = 1 << back;
    const seen = this.window[at]!;
    if ((seen & bit) !== 0) {
      this.duplicates++;
      return Arrival.duplicate;
    }
    this.window[at] = seen | bit;
    this.reordered++;
    return Arrival.reordered;
  }
}

// The open-loop send schedule: when each sender's next message is due, fixed by the clock, never by replies. Pure.

/**
 * Every sender sends at `ratePerSenderHz`; sender `s` is offset by `s / totalSenders` of a period, so the
 * senders of all workers together are spread evenly over time instead of firing in step.
 *
 * Sender `s`'s message `k` is due at `t0Us + (k + s / totalSenders) * periodUs`. The schedule walks this
 * worker's senders in that order, one round at a time: the cursor fields below describe the next message.
 * The times do not depend on when the previous message actually left (that is what makes it open loop):
 * a send that is late stays late, and latency is measured from `dueUs`.
 */
export class SendSchedule {
  /** The next message's sender id. */
  sender = 0;
  /** The next message's sequence number (its round). */
  seq = 0;
  /** When the next message is due, µs on the run's clock. `Infinity` once the schedule is over. */
  dueUs = Number.POSITIVE_INFINITY;
  private index = 0;
  private readonly periodUs: number;
  private readonly phase: Float64Array;

  /**
   * @param senders this worker's sender ids, ascending
   * @param totalSenders the number of sender ids over all workers (ids are below it)
   * @param ratePerSenderHz messages per second from each sender
   * @param t0Us start of the schedule on the run's clock
   * @param endUs nothing is due at or after this
   */
  constructor(
    private readonly senders: readonly number[],
    totalSenders: number,
    ratePerSenderHz: number,
    private readonly t0Us: number,
    private endUs: number,
  ) {
    this.periodUs = ratePerSenderHz > 0 ? 1e6 / ratePerSenderHz : Number.POSITIVE_INFINITY;
    this.phase = Float64Array.from(senders, (s) => s / totalSenders);
    if (senders.length > 0 && Number.isFinite(this.periodUs)) this.load();
  }

  /** Moves to the next message. */
  // hot path: once per send
  advance(): void {
    if (++this.index === this.senders.length) {
      this.index = 0;
      this.seq++;
    }
    this.load();
  }

  /** Ends the schedule early (Ctrl+C): nothing more is due. */
  stop(): void {
    this.endUs = Number.NEGATIVE_INFINITY;
    this.dueUs = Number.POSITIVE_INFINITY;
  }

  private load(): void {
    const due = this.t0Us + (this.seq + this.phase[this.index]!) * this.periodUs;
    this.sender = this.senders[this.index]!;
    // Whole µs: the wire carries integers.
    this.dueUs = due < this.endUs ? Math.round(due) : Number.POSITIVE_INFINITY;
  }
}

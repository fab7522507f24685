// Relay counters: plain number fields bumped on the hot path, read for the summary line and by tests.

/**
 * Drops by reason, one counter each: why an inbound or outbound datagram was not relayed or not delivered. Every
 * drop has a reason; the summary prints each reason that occurred, under its field name.
 */
export class Drops {
  /** The send queue was full when fan-out hit backpressure. */
  queue_overflow = 0;
  /** A recipient's packet was refused by the kernel even on a writable socket (e.g. unroutable). */
  unsendable = 0;
  /** Longer than --max-datagram once prefixed, or cut by the kernel. */
  too_long = 0;
  /** Not valid UTF-8. */
  invalid_utf8 = 0;
  /** Empty datagram, or a name that is empty once trimmed. */
  empty = 0;
  /** Still queued when shutdown gave up waiting for the socket. */
  shutdown = 0;
  /** A control character other than tab in a line (ANSI escapes, BEL, ...). */
  control_chars = 0;
  /** A name that breaks a rule or is taken. */
  name_refused = 0;
  /** A new address while --max-clients were registered. */
  server_full = 0;
  /** A new address whose IP or network already had --max-clients-per-ip / --max-clients-per-net registered. */
  source_full = 0;
  /** A datagram from an unregistered address that speaks as a server (`[SERVER]…`): another relay's notice, never answered. */
  server_tag = 0;
  /** A refusal or challenge not sent: that address had one less than a second ago. */
  reply_limited = 0;
  /** A /nick beyond the rename allowance (the client is told when to try again). */
  rename_limited = 0;
  /** A registered client's datagram beyond its --rate-limit/--burst token bucket. */
  rate_limited = 0;
  /** A join beyond --join-rate (per source IP) or --join-rate-total. */
  join_limited = 0;
  /** A datagram from an unregistered address beyond --unknown-rate (per prefix) or --unknown-rate-total. */
  unknown_limited = 0;
  /** An answer to a challenge whose code was wrong or expired (a fresh challenge goes back, within limits). */
  bad_code = 0;
  /** A chat line not relayed because --max-fanout-rate deliveries a second were spent. */
  fanout_limited = 0;
}

/** A drop reason, as the summary prints it. */
export type DropReason = keyof Drops;

/** Counters for one relay. Monomorphic fields: an increment is one store. */
export class RelayStats {
  /** Datagrams received, of any kind. */
  datagramsIn = 0;
  /** Bytes of those datagrams (UDP payloads). */
  bytesIn = 0;
  /** Joins accepted. */
  joins = 0;
  /** Chat lines accepted for fan-out. */
  linesRelayed = 0;
  /** Clients that left with /quit. */
  leaves = 0;
  /** Clients removed by the idle sweep. */
  timeouts = 0;
  /** Joins taken back because the name went to someone on another worker or mesh node first. */
  evictions = 0;
  /** Commands executed (any datagram starting with "/" from a registered client). */
  commands = 0;
  /** Join codes sent to new addresses (address validation): each is one short datagram, nothing stored. */
  challenges = 0;
  /** Datagrams handed to the kernel (one per recipient). */
  deliveries = 0;
  /** Bytes of those datagrams: frame length × recipients, added once per `sendMany`. */
  bytesSent = 0;
  /**
   * Failed sends, resumed past: each `sendMany` that threw (an error at its first packet), and each short count
   * the retry proved was no full buffer (it made progress): no route, a firewall's EPERM, or ICMP errors where
   * they could not be turned off (sockopt.ts); nothing is lost.
   */
  sendErrors = 0;
  /** Times fan-out met a full socket buffer and queued the rest. */
  backpressureEvents = 0;
  readonly drops = new Drops();

  /** All drops, of every reason. */
  get dropsTotal(): number {
    let total = 0;
    for (const n of Object.values(this.drops)) total += n;
    return total;
  }

  /** One line for the operator: totals, then each drop reason that occurred. */
  summary(clients: number): string {
    const reasons = Object.entries(this.drops)
      .filter(([, n]) => n > 0)
      .map(([reason, n]) => `${reason}=${n}`)
      .join(" ");
    return (
      `[SERVER] Summary: clients=${clients} datagrams_in=${this.datagramsIn} lines=${this.linesRelayed} ` +
      `deliveries=${this.deliveries} drops=${this.dropsTotal}${reasons ? ` (${reasons})` : ""} ` +
      `send_errors=${this.sendErrors} backpressure=${this.backpressureEvents} challenges=${this.challenges}`
    );
  }
}

/**
 * Upper bounds (seconds) of the fan-out time histogram's buckets, 10 µs to 1 s; one more bucket holds the rest.
 * A broadcast to one client takes a few µs (one sendmmsg), to 10 000 a few ms.
 */
export const FANOUT_BUCKETS_SECONDS = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
] as const;

/**
 * One broadcast in this many is timed. A `performance.now()` pair costs ~100 ns on Bun 1.4.5, a few per cent of a
 * broadcast to one client (~2-3 µs); one in 16 makes it ~6 ns. The histogram's count is of timed broadcasts.
 */
export const FANOUT_TIMED_EVERY = 16;

/** How long broadcasts take, sampled (`FANOUT_TIMED_EVERY`): non-cumulative bucket counts, as structured clone carries them. */
export class FanoutTimes {
  /** counts[i]: timed broadcasts of at most FANOUT_BUCKETS_SECONDS[i] (and more than the bound before); the last: longer than 1 s. */
  readonly counts: number[] = new Array<number>(FANOUT_BUCKETS_SECONDS.length + 1).fill(0);
  sumSeconds = 0;
  count = 0;

  /** Records one timed broadcast. Runs once per FANOUT_TIMED_EVERY broadcasts: a short scan of 16 bounds. */
  record(ms: number): void {
    const seconds = ms / 1000;
    let i = 0;
    while (i < FANOUT_BUCKETS_SECONDS.length && seconds > FANOUT_BUCKETS_SECONDS[i]!) i++;
    this.counts[i]!++;
    this.sumSeconds += seconds;
    this.count++;
  }
}

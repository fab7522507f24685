// Relay counters: plain number fields bumped on the hot path, read for the summary line and by tests.

/** Why an inbound or outbound datagram was not relayed or not delivered. Every drop has a reason. */
export const DropReason = {
  /** The send queue was full when fan-out hit backpressure. */
  queueOverflow: "queue_overflow",
  /** A recipient's packet was refused by the kernel even on a writable socket (e.g. unroutable). */
  unsendable: "unsendable",
  /** Longer than --max-datagram once prefixed, or cut by the kernel. */
  tooLong: "too_long",
  /** Not valid UTF-8. */
  invalidUtf8: "invalid_utf8",
  /** Empty datagram, or a name that is empty once trimmed. */
  empty: "empty",
  /** Still queued when shutdown gave up waiting for the socket. */
  shutdown: "shutdown",
  /** A control character other than tab in a line (ANSI escapes, BEL, ...). */
  controlChars: "control_chars",
  /** A name that breaks a rule or is taken. */
  nameRefused: "name_refused",
  /** A new address while --max-clients were registered. */
  serverFull: "server_full",
  /** A registered client's datagram beyond its --rate-limit/--burst token bucket. */
  rateLimited: "rate_limited",
  /** A join beyond --join-rate (per source IP) or --join-rate-total. */
  joinLimited: "join_limited",
  /** A datagram from an unregistered address beyond --unknown-rate (per prefix) or --unknown-rate-total. */
  unknownLimited: "unknown_limited",
  /** An answer to a challenge whose code was wrong or expired (a fresh challenge goes back, within limits). */
  badCode: "bad_code",
  /** A chat line not relayed because --max-fanout-rate deliveries a second were spent. */
  fanoutLimited: "fanout_limited",
} as const;
export type DropReason = (typeof DropReason)[keyof typeof DropReason];

/** Counters for one relay. Monomorphic fields: an increment is one store. */
export class RelayStats {
  /** Datagrams received, of any kind. */
  datagramsIn = 0;
  /** Joins accepted. */
  joins = 0;
  /** Chat lines accepted for fan-out. */
  linesRelayed = 0;
  /** Clients that left with /quit. */
  leaves = 0;
  /** Clients removed by the idle sweep. */
  timeouts = 0;
  /** Commands executed (any datagram starting with "/" from a registered client). */
  commands = 0;
  /** Join codes sent to new addresses (address validation): each is one short datagram, nothing stored. */
  challenges = 0;
  /** Datagrams handed to the kernel (one per recipient). */
  deliveries = 0;
  /** Short sends caused by an error reported for an earlier packet (ICMP unreachable): resumed, nothing lost. */
  sendErrors = 0;
  /** Times fan-out met a full socket buffer and queued the rest. */
  backpressureEvents = 0;
  readonly drops: Record<DropReason, number> = {
    queue_overflow: 0,
    unsendable: 0,
    too_long: 0,
    invalid_utf8: 0,
    empty: 0,
    shutdown: 0,
    control_chars: 0,
    name_refused: 0,
    server_full: 0,
    rate_limited: 0,
    join_limited: 0,
    unknown_limited: 0,
    bad_code: 0,
    fanout_limited: 0,
  };

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

// Rate limits: the per-client token bucket, the global delivery budget, and bounded per-second tables keyed by source.

/** The fields of a registered client that its token bucket lives in (the Client record has them). */
export interface Bucket {
  /** Tokens left; starts at Infinity, which the first refill clamps to the burst (a newcomer may burst). */
  tokens: number;
  /** When `tokens` was last refilled (the relay's coarse clock). */
  tokensAtMs: number;
  /** When this client was last told to slow down, so it hears it at most once a second. */
  slowNoticeMs: number;
}

/**
 * Takes one token from `bucket`, refilled at `perMs` tokens a millisecond up to `burst`. False: over the limit.
 * A few arithmetic ops on the client record, no allocation: cheap enough for every datagram.
 */
// hot path
export function takeToken(bucket: Bucket, nowMs: number, perMs: number, burst: number): boolean {
  let tokens = bucket.tokens + (nowMs - bucket.tokensAtMs) * perMs;
  if (tokens > burst) tokens = burst;
  bucket.tokensAtMs = nowMs;
  if (tokens < 1) {
    bucket.tokens = tokens;
    return false;
  }
  bucket.tokens = tokens - 1;
  return true;
}

/**
 * A global cap on deliveries a second. A broadcast to N recipients costs N; it goes out while the budget is
 * not in debt, so a broadcast larger than a second's worth still passes now and then and the average holds.
 */
export class DeliveryBudget {
  private tokens: number;
  private atMs = 0;
  private readonly perMs: number;

  constructor(private readonly perSecond: number) {
    this.tokens = perSecond;
    this.perMs = perSecond / 1000;
  }

  /** Spends `deliveries` if the budget is not in debt; false means the broadcast must not be sent. */
  // hot path: once per broadcast line, only when --max-fanout-rate is set
  take(deliveries: number, nowMs: number): boolean {
    let tokens = this.tokens + (nowMs - this.atMs) * this.perMs;
    if (tokens > this.perSecond) tokens = this.perSecond;
    this.atMs = nowMs;
    if (tokens < 0) {
      this.tokens = tokens;
      return false;
    }
    this.tokens = tokens - deliveries;
    return true;
  }
}

/** Keys a per-second table holds at most: a flood of fresh sources meets the limit, not the heap. */
export const MAX_TABLE_KEYS = 65_536;

/**
 * Counts events per key (a source address or prefix) and in total, in one-second windows. Cold path: only
 * traffic from unregistered addresses and joins pass here. Memory is bounded: the table is cleared every
 * window and holds at most `capacity` keys; a new key beyond that is refused for the rest of the window.
 */
export class WindowCounter {
  private readonly counts = new Map<string, number>();
  private windowEndMs = Number.NEGATIVE_INFINITY;
  private total = 0;

  /** `perKey` or `total` 0 = no such limit. */
  constructor(
    private readonly perKey: number,
    private readonly totalLimit: number,
    private readonly capacity = MAX_TABLE_KEYS,
    private readonly windowMs = 1000,
  ) {}

  /** Keys in the current window's table. */
  get size(): number {
    return this.counts.size;
  }

  /** Counts one event for `key`; false (and not counted) when its or the total budget for this window is spent. */
  allow(key: string, nowMs: number): boolean {
    if (nowMs >= this.windowEndMs) {
      this.counts.clear();
      this.total = 0;
      this.windowEndMs = nowMs + this.windowMs;
    }
    if (this.totalLimit > 0 && this.total >= this.totalLimit) return false;
    if (this.perKey > 0) {
      const n = this.counts.get(key) ?? 0;
      if (n >= this.perKey) return false;
      if (n === 0 && this.counts.size >= this.capacity) return false;
      this.counts.set(key, n + 1);
    }
    this.total++;
    return true;
  }
}

/**
 * The network a source address belongs to, as a key: its /24 for IPv4 (and IPv4-mapped IPv6), its /64 for IPv6.
 * One host can use many addresses of its own prefix, so limits on replies key on the prefix, not the address.
 */
export function prefixKey(address: string): string {
  const zone = address.indexOf("%");
  const ip = zone < 0 ? address : address.slice(0, zone);
  const dot = ip.lastIndexOf(".");
  if (dot >= 0) {
    // IPv4, or IPv4-mapped IPv6 (::ffff:a.b.c.d): the first three octets.
    const colon = ip.lastIndexOf(":");
    return ip.slice(colon + 1, dot);
  }
  const halves = ip.toLowerCase().split("::");
  const head = halves[0] === "" || halves[0] === undefined ? [] : halves[0].split(":");
  const tail = halves.length < 2 || halves[1] === "" ? [] : halves[1]!.split(":");
  const groups = [...head, ...new Array<string>(Math.max(0, 8 - head.length - tail.length)).fill("0"), ...tail];
  let key = "";
  for (let i = 0; i < 4; i++) key += `${i > 0 ? ":" : ""}${(Number.parseInt(groups[i] ?? "0", 16) || 0).toString(16)}`;
  return `${key}::/64`;
}

// --relay-metrics: the relay's own counters from its admin endpoint (GET /stats, /metrics), scraped at the start of
// sending, every second and at the end, and the generator's loss attributed to where it happened.

import type { Summary } from "./summary.ts";

/** A scrape that takes longer than this is a failed scrape (a warning, never fatal). */
export const SCRAPE_TIMEOUT_MS = 500;
const SCRAPE_EVERY_MS = 1000;

/** What one scrape read. */
export interface RelayScrape {
  readonly drops: Readonly<Record<string, number>>;
  readonly deliveries: number;
  readonly sendErrors: number;
  readonly backlog: number;
  readonly clients: number;
  readonly lagS: number;
  /** process_cpu_seconds_total from /metrics, or null if it could not be read. */
  readonly cpuS: number | null;
}

/** Drop reasons that cost one delivery each; every other reason drops a whole line (`recipients` deliveries). */
const PER_DELIVERY_REASONS: ReadonlySet<string> = new Set(["queue_overflow", "unsendable", "shutdown"]);

/** Reads the relay's counters once. Throws on a timeout, an HTTP error or a body that is not /stats. */
export async function scrapeRelay(url: string, token: string | undefined): Promise<RelayScrape> {
  const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
  const get = (path: string) => fetch(new URL(path, url), { headers, signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
  const [stats, metrics] = await Promise.all([get("stats"), get("metrics").catch(() => undefined)]);
  if (!stats.ok) throw new Error(`HTTP ${stats.status}`);
  const body = (await stats.json()) as {
    clients: number;
    sendBacklogDatagrams: number;
    eventLoopLagSeconds: number;
    totals: { deliveries: number; sendErrors: number; drops: Record<string, number> };
  };
  if (typeof body?.totals?.deliveries !== "number") throw new Error("not a relay's /stats answer");
  let cpuS: number | null = null;
  if (metrics?.ok) {
    const m = /^process_cpu_seconds_total\s+(\S+)/m.exec(await metrics.text());
    if (m) cpuS = Number(m[1]);
  }
  return {
    drops: body.totals.drops,
    deliveries: body.totals.deliveries,
    sendErrors: body.totals.sendErrors,
    backlog: body.sendBacklogDatagrams,
    clients: body.clients,
    lagS: body.eventLoopLagSeconds,
    cpuS,
  };
}

/** Scrapes a relay through a run: `begin()` when sending starts, then every second, `end()` after the drain. */
export class RelayScraper {
  first: RelayScrape | undefined;
  last: RelayScrape | undefined;
  backlogPeak = 0;
  lagMaxS = 0;
  clientsPeak = 0;
  failures = 0;
  lastError: string | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    readonly url: string,
    private readonly token: string | undefined,
    private readonly warn: (line: string) => void,
  ) {}

  async begin(): Promise<void> {
    this.first = await this.scrape();
    this.timer = setInterval(() => void this.scrape(), SCRAPE_EVERY_MS);
  }

  async end(): Promise<void> {
    clearInterval(this.timer);
    await this.scrape();
  }

  private async scrape(): Promise<RelayScrape | undefined> {
    try {
      const s = await scrapeRelay(this.url, this.token);
      this.last = s;
      this.backlogPeak = Math.max(this.backlogPeak, s.backlog);
      this.lagMaxS = Math.max(this.lagMaxS, s.lagS);
      this.clientsPeak = Math.max(this.clientsPeak, s.clients);
      return s;
    } catch (err) {
      const message = (err as Error).name === "TimeoutError" ? `no answer within ${SCRAPE_TIMEOUT_MS} ms` : (err as Error).message;
      if (this.failures++ === 0) this.warn(`warning: --relay-metrics ${this.url}: scrape failed (${message}); the run goes on`);
      this.lastError = message;
      return undefined;
    }
  }
}

/** Where the lost deliveries went; `dominant` names the largest share ("none" without loss). */
export interface Attribution {
  relay: Record<string, number>;
  relay_socket: number;
  path: number;
  client_sockets: number;
  dominant: string;
}

/**
 * The summary's `relay` object, and the attribution of its loss. Method (docs/stress-testing.md): the relay's
 * shortfall is expected − its own deliveries over the run; of it, the relay socket's kernel drops × recipients were
 * never read, the rest the relay dropped, split over the reasons by deliveries (a line-dropping reason costs
 * `recipients`). Of the rest of the loss, the clients' socket drops are the generator's; what remains is the path.
 */
export function relayFacts(s: Summary, scraper: RelayScraper, recipients: number): Record<string, unknown> {
  const { first, last } = scraper;
  if (first === undefined || last === undefined) {
    return { url: scraper.url, error: `no scrape answered${scraper.lastError ? ` (${scraper.lastError})` : ""}` };
  }
  const drops: Record<string, number> = {};
  for (const [reason, n] of Object.entries(last.drops)) {
    const d = n - (first.drops[reason] ?? 0);
    if (d > 0) drops[reason] = d;
  }
  const relayDeliveries = last.deliveries - first.deliveries;
  const lost = Math.max(0, s.lost);
  const shortfall = Math.min(lost, Math.max(0, s.expected - relayDeliveries));
  const relaySocket = Math.min(shortfall, (s.relay_socket_drops ?? 0) * recipients);
  const atRelay = shortfall - relaySocket;
  const weights = Object.entries(drops).map(([reason, n]) => [reason, PER_DELIVERY_REASONS.has(reason) ? n : n * recipients] as const);
  const weightSum = weights.reduce((t, [, w]) => t + w, 0);
  const relay: Record<string, number> = {};
  if (atRelay > 0) {
    if (weightSum === 0) relay.unaccounted = atRelay;
    else for (const [reason, w] of weights) relay[reason] = Math.round((atRelay * w) / weightSum);
  }
  const clientSockets = Math.min(lost - shortfall, s.client_socket_drops ?? 0);
  const path = lost - shortfall - clientSockets;
  const shares: [string, number][] = [...Object.entries(relay), ["relay_socket", relaySocket], ["path", path], ["client_sockets", clientSockets]];
  const top = shares.reduce((a, b) => (b[1] > a[1] ? b : a), ["none", 0] as [string, number]);
  const attribution: Attribution = { relay, relay_socket: relaySocket, path, client_sockets: clientSockets, dominant: top[0] };
  const cpuS = first.cpuS === null || last.cpuS === null ? null : last.cpuS - first.cpuS;
  return {
    url: scraper.url,
    drops,
    send_errors: last.sendErrors - first.sendErrors,
    backlog_peak: scraper.backlogPeak,
    clients_registered: scraper.clientsPeak,
    deliveries: relayDeliveries,
    cpu_ns_per_delivery: cpuS === null || relayDeliveries === 0 ? null : Math.round((cpuS * 1e9) / relayDeliveries),
    event_loop_lag_max_s: scraper.lagMaxS,
    scrape_failures: scraper.failures,
    attribution,
  };
}

/** Clients the relay holds that this run did not join (the first thing to suspect), or 0. */
export function strangers(relayClients: number | undefined, joined: number): number {
  return relayClients === undefined ? 0 : Math.max(0, relayClients - joined);
}

/** The summary's one line on where the loss went. */
export function attributionText(a: Attribution): string {
  const where = (k: string) =>
    k === "relay_socket" ? "in the relay's socket buffer" : k === "path" ? "on the path" : k === "client_sockets" ? "at the clients' sockets" : `at the relay (${k})`;
  const parts = [
    ...Object.entries(a.relay).map(([k, n]) => `${n} ${where(k)}`),
    ...(["relay_socket", "path", "client_sockets"] as const).filter((k) => a[k] > 0).map((k) => `${a[k]} ${where(k)}`),
  ];
  return a.dominant === "none" ? "no loss to attribute" : `mostly ${where(a.dominant)}: ${parts.join(", ")}`;
}

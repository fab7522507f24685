// The main thread of a load run: starts the workers, walks them through join, echo probe, run and drain, and merges what they report.

import { Worker } from "node:worker_threads";
import { formatEndpoint } from "../protocol/endpoint.ts";
import { RECEIVE_BUFFER_BYTES } from "./clients.ts";
import { encodeHistogram, mergeEncoded, newHistogram } from "./histogram.ts";
import { readHostFacts } from "./host.ts";
import { type IntervalRecord, IntervalRecorder } from "./intervals.ts";
import { addCounters, type Command, type Counters, clockUs, type JoinProgress, type Report, type WorkerSetup, zeroCounters } from "./messages.ts";
import type { LoadOptions } from "./options.ts";
import type { IntervalView } from "./report.ts";
import { type RelayScraper, relayFacts, strangers } from "./relay-metrics.ts";
import { buildSummary, round, type Summary } from "./summary.ts";
import { socketDrops } from "./socket-drops.ts";
import { newSpreadMemory } from "./spread.ts";

/** The relay could not be reached or the run could not start. The message names host:port; exit 1. */
export class LoadError extends Error {
  override readonly name = "LoadError";
}

/** Where a run's live output goes. */
export interface RunOutput {
  /** A progress line for a person (stderr). */
  live(line: string): void;
  /** One interval, for `--json-stream` and (each full second, with `view`) the live line; the drain record has no view. */
  interval(record: IntervalRecord, view?: IntervalView): void;
}

/** What a generator agent runs: its share of a fleet's clients and senders, on the coordinator's schedule. */
export interface AgentShare {
  /** First client id of the share (names are `c<id>-<runTag>`, unique over the fleet). */
  readonly idBase: number;
  /** First wire sender id of the share. */
  readonly senderBase: number;
  /** Senders over the whole fleet. */
  readonly totalSenders: number;
  /** The fleet's common run epoch, on this host's `performance.timeOrigin` scale (ms): the coordinator's, offset-corrected. */
  readonly epochMs: number;
  readonly runTag: string;
  /**
   * Called once the share has joined and probed echo; resolves with the fleet's recipients per message and the common
   * start (µs on the run's clock), or rejects to end the run (the coordinator went away or called it off).
   */
  gate(joined: { joined: number; senders: number; echo: boolean }): Promise<{ recipients: number; t0Us: number }>;
}

/** How a run ended, beyond its summary: what an agent sends its coordinator so the fleet's summary can be built exactly. */
export interface RunTotals {
  readonly counters: Counters;
  /** Latency of other agents' lines (empty on one host). */
  readonly cross: string;
  /** Sending stopped and last delivery, seconds after the start. */
  readonly stoppedS: number;
  readonly lastDeliveryS: number;
  readonly cpuS: number;
}

/** No client joined within this long: the relay is not answering. */
const FIRST_JOIN_TIMEOUT_MS = 3000;
/** Outstanding joins allowed over all workers when --ramp is not given, up to 1000 registered (the C driver uses batches of 64). */
const JOIN_WINDOW = 64;
/** Sequence-tracking memory per worker: 8 bytes a (receiver, sender) pair. */
const MAX_PAIRS_PER_WORKER = 16 << 20;
const INTERVAL_US = 1_000_000;
/** The run starts this long after the command, so every worker has it before its first slot. */
const START_DELAY_US = 100_000;

interface WorkerState {
  readonly thread: Worker;
  opened: boolean;
  joining: JoinProgress;
  senders: number[] | undefined;
  /** Lowest global id among this worker's joined clients (Infinity if none). */
  firstJoined: number;
  final: boolean;
  closed: boolean;
  lastDeliveryUs: number;
  trackedReceivers: number;
}

/** A load run in progress: `done` resolves with the summary; `interrupt()` (Ctrl+C) ends it early with the summary so far. */
export class LoadRun {
  readonly done: Promise<Summary>;
  private readonly workers: WorkerState[] = [];
  private readonly epochMs: number;
  private readonly now: () => number;
  private readonly target: string;
  private wake: (() => void) | undefined;
  private fatal: string | undefined;
  private interrupted = false;
  private drainCut = false;
  private interruptedAtUs: number | undefined;
  private running = false;
  private probeSelf = false;
  private probeOther = false;
  private recipients = 0;
  private readonly totals: Counters = zeroCounters();
  private readonly latency = newHistogram(true);
  private readonly raw = newHistogram(true);
  private readonly spread = newHistogram(true);
  private readonly cross = newHistogram(true);
  /** Set when the run is over (undefined if it never started sending). */
  totalsAtEnd: RunTotals | undefined;
  private readonly clientPorts = new Set<number>();
  private t0Us = 0;
  private recorder: IntervalRecorder | undefined;
  private receiveBufferBytes: number | null = null;

  constructor(
    private readonly o: LoadOptions,
    private readonly out: RunOutput,
    private readonly relayCpuS: () => number | null,
    private readonly share?: AgentShare,
    /** --relay-metrics: scraped when sending starts, every second, and after the drain. */
    private readonly scraper?: RelayScraper,
  ) {
    this.epochMs = share?.epochMs ?? performance.timeOrigin + performance.now();
    this.now = clockUs(this.epochMs);
    this.target = formatEndpoint(o.host, o.port);
    this.done = this.drive().finally(() => this.closeWorkers());
  }

  /** Ctrl+C: stop sending, drain briefly, and resolve `done` with what was measured. */
  interrupt(): void {
    this.interrupted = true;
    this.interruptedAtUs ??= this.now();
    if (this.running) for (const w of this.workers) this.command(w, { kind: "stop" });
    this.wake?.();
  }

  private async drive(): Promise<Summary> {
    const o = this.o;
    const spreadMemory = newSpreadMemory();
    const share = this.share;
    const runTag = share?.runTag ?? Math.random().toString(36).slice(2, 6);
    for (let i = 0; i < o.workers; i++) {
      const setup: WorkerSetup = {
        worker: i,
        workers: o.workers,
        host: o.host,
        port: o.port,
        bind: o.bind,
        clients: Math.ceil((o.clients - i) / o.workers),
        idBase: share?.idBase ?? 0,
        senders: o.senders,
        senderBase: share?.senderBase ?? 0,
        totalSenders: share?.totalSenders ?? o.senders,
        payloadBytes: o.payloadBytes,
        joinRate: o.ramp / o.workers,
        joinWindow: Math.max(1, Math.floor(JOIN_WINDOW / o.workers)),
        runTag,
        epochMs: this.epochMs,
        spread: spreadMemory,
        maxPairs: MAX_PAIRS_PER_WORKER,
      };
      const thread = new Worker(new URL("./worker.ts", import.meta.url), { workerData: setup });
      const state: WorkerState = { thread, opened: false, joining: { joined: 0, refused: 0, gaveUp: 0, attempts: 0, resent: 0 }, senders: undefined, firstJoined: Number.POSITIVE_INFINITY, final: false, closed: false, lastDeliveryUs: 0, trackedReceivers: 0 };
      thread.on("message", (r: Report) => this.onReport(state, r));
      thread.on("error", (err: Error) => {
        this.fatal ??= err.message;
        this.wake?.();
      });
      this.workers.push(state);
    }
    await this.until(() => this.workers.every((w) => w.opened));
    this.throwIfFatal();

    // Join.
    const joinStartMs = performance.now();
    for (const w of this.workers) this.command(w, { kind: "join" });
    const joinLive = setInterval(() => {
      const j = this.joinTotals();
      this.out.live(`joining: ${j.joined}/${o.clients} joined${j.resent ? `, ${j.resent} names re-sent` : ""}${j.refused ? `, ${j.refused} refused` : ""}${j.gaveUp ? `, ${j.gaveUp} given up` : ""}`);
    }, 1000);
    try {
      await this.until(() => {
        const j = this.joinTotals();
        if (j.joined === 0 && j.refused >= Math.min(o.clients, 4)) {
          this.fatal ??= `no answer from ${this.target}: ICMP port unreachable (nothing is listening there)`;
        } else if (j.joined === 0 && performance.now() - joinStartMs > FIRST_JOIN_TIMEOUT_MS) {
          this.fatal ??= `no answer from ${this.target}: no join notice within ${FIRST_JOIN_TIMEOUT_MS / 1000} s (is the relay running there, and reachable?)`;
        }
        return this.workers.every((w) => w.senders !== undefined);
      });
    } finally {
      clearInterval(joinLive);
    }
    this.throwIfFatal();
    const join = this.joinTotals();
    const joinS = (performance.now() - joinStartMs) / 1000;
    const senders = this.workers.reduce((n, w) => n + (w.senders?.length ?? 0), 0);
    if (join.joined === 0) throw new LoadError(`no answer from ${this.target}: no client could register`);
    const measured = { options: o, target: this.target, joined: join.joined, joinAttempts: join.attempts, joinS, senders, totals: this.totals, latency: this.latency, raw: this.raw, spread: this.spread };
    if (this.interrupted) return buildSummary({ ...measured, echo: true, recipients: 0, trackedReceivers: 0, interrupted: true, drainCut: false });

    // Echo probe: does a sender get its own line back? (`--no-echo` relays leave it out.)
    const echo = await this.probe(join.joined);

    // Run.
    const spreadRecipients = echo ? join.joined : join.joined - 1;
    let recipients = spreadRecipients;
    let t0Us = this.now() + START_DELAY_US;
    if (share !== undefined) {
      try {
        ({ recipients, t0Us } = await share.gate({ joined: join.joined, senders, echo }));
      } catch (err) {
        throw new LoadError((err as Error).message);
      }
      if (this.interrupted) return buildSummary({ ...measured, echo, recipients: 0, trackedReceivers: 0, interrupted: true, drainCut: false });
    }
    this.recipients = recipients;
    // Bounded: a scrape gives up after SCRAPE_TIMEOUT_MS, and the slots start START_DELAY_US after now.
    await this.scraper?.begin();
    if (this.scraper !== undefined && share === undefined) t0Us = this.now() + START_DELAY_US;
    this.t0Us = t0Us;
    const endUs = t0Us + o.durationS * 1e6;
    const cpu0 = process.cpuUsage();
    const relay0 = this.relayCpuS();
    const relayPorts = new Set(isLoopback(o.host) ? [o.port] : []);
    const clientDrops0 = socketDrops(this.clientPorts);
    const relayDrops0 = relayPorts.size > 0 ? socketDrops(relayPorts) : null;
    this.recorder = new IntervalRecorder(this.workers.length, recipients, () => ({
      relayCpuS: this.relayCpuS(),
      relayDrops: relayPorts.size > 0 ? socketDrops(relayPorts) : null,
      clientDrops: socketDrops(this.clientPorts),
    }));
    const startedAt = new Date(this.epochMs + t0Us / 1000).toISOString();
    this.running = true;
    for (const w of this.workers) {
      this.command(w, { kind: "run", t0Us, endUs, ratePerSenderHz: senders > 0 ? o.rate / senders : 0, recipients, spreadRecipients, intervalUs: INTERVAL_US });
    }
    if (this.interrupted) this.interrupt();
    await this.until(() => this.workers.every((w) => w.final));
    this.running = false;
    const cpu = process.cpuUsage(cpu0);
    const relay1 = this.relayCpuS();
    const clientDrops1 = socketDrops(this.clientPorts);
    const relayDrops1 = relayPorts.size > 0 ? socketDrops(relayPorts) : null;
    const drops = (a: number | null, b: number | null) => (a === null || b === null ? null : b - a);
    const stoppedUs = Math.max(t0Us, Math.min(this.interruptedAtUs ?? endUs, endUs));
    const lastDeliveryUs = Math.max(0, ...this.workers.map((w) => w.lastDeliveryUs));
    this.totalsAtEnd = {
      counters: { ...this.totals },
      cross: encodeHistogram(this.cross),
      stoppedS: (stoppedUs - t0Us) / 1e6,
      lastDeliveryS: Math.max(0, lastDeliveryUs - t0Us) / 1e6,
      cpuS: (cpu.user + cpu.system) / 1e6,
    };
    await this.scraper?.end();
    const summary = buildSummary({
      ...measured,
      echo,
      recipients,
      trackedReceivers: this.workers.reduce((n, w) => n + w.trackedReceivers, 0),
      interrupted: this.interrupted,
      drainCut: this.drainCut,
      cpuS: (cpu.user + cpu.system) / 1e6,
      t0Us,
      stoppedUs,
      lastDeliveryUs,
      relayCpuS: relay0 === null || relay1 === null ? null : relay1 - relay0,
      clientDrops: drops(clientDrops0, clientDrops1),
      relayDrops: drops(relayDrops0, relayDrops1),
      intervals: this.recorder.records,
      host: readHostFacts(RECEIVE_BUFFER_BYTES, this.receiveBufferBytes),
      startedAt,
    });
    if (this.scraper !== undefined) addRelayFacts(summary, this.scraper, recipients);
    return summary;
  }

  private async probe(registered: number): Promise<boolean> {
    // Any registered client can send the probe: take the lowest id.
    const sender = Math.min(...this.workers.map((w) => w.firstJoined));
    for (let attempt = 0; attempt < 3 && !this.interrupted; attempt++) {
      this.probeSelf = this.probeOther = false;
      const text = `?probe ${attempt} ${Math.random().toString(36).slice(2, 8)}`;
      for (const w of this.workers) this.command(w, { kind: "probe", text, sender });
      await this.until(() => this.probeSelf || this.probeOther, 1000);
      if (this.probeSelf) return true;
      if (this.probeOther) {
        await this.until(() => this.probeSelf, 300);
        return this.probeSelf;
      }
      if (registered === 1) return false;
    }
    return true;
  }

  private onReport(w: WorkerState, r: Report): void {
    switch (r.kind) {
      case "opened":
        w.opened = true;
        for (const p of r.ports) this.clientPorts.add(p);
        this.receiveBufferBytes ??= r.receiveBufferBytes;
        break;
      case "fatal":
        this.fatal ??= r.message;
        break;
      case "joining":
        w.joining = r;
        break;
      case "joined":
        w.joining = r;
        w.senders = r.senders;
        w.firstJoined = r.firstJoined;
        break;
      case "probeSeen":
        if (r.self) this.probeSelf = true;
        else this.probeOther = true;
        break;
      case "interval":
        this.onInterval(w, r);
        break;
      case "closed":
        w.closed = true;
        break;
    }
    this.wake?.();
  }

  private onInterval(w: WorkerState, r: Extract<Report, { kind: "interval" }>): void {
    addCounters(this.totals, r.counters);
    mergeEncoded(this.latency, r.latency);
    mergeEncoded(this.raw, r.raw);
    mergeEncoded(this.spread, r.spread);
    mergeEncoded(this.cross, r.cross);
    w.lastDeliveryUs = Math.max(w.lastDeliveryUs, r.lastDeliveryUs);
    w.trackedReceivers = r.trackedReceivers;
    const recorder = this.recorder;
    if (r.final) {
      w.final = true;
      if (r.drainCut) this.drainCut = true;
      const drain = recorder?.addFinal(r, (Math.max(...this.workers.map((x) => x.lastDeliveryUs)) - this.t0Us) / 1e6);
      if (drain !== undefined) this.out.interval(drain);
      return;
    }
    const record = recorder?.add(r.index, r);
    if (record === undefined) return;
    // Lines sent in the interval just ended may still be on their way: they are not owed yet.
    const owed = (this.totals.sent - record.sent) * this.recipients;
    this.out.interval(record, {
      t_s: r.index + 1,
      joined: this.joinTotals().joined,
      sent_per_s: record.sent,
      deliveries_per_s: record.delivered,
      loss_so_far: owed > 0 ? round(Math.max(0, 1 - (this.totals.delivered - this.totals.duplicates) / owed), 6) : 0,
      p99_so_far_us: this.latency.totalCount > 0 ? this.latency.getValueAtPercentile(99) : 0,
      late: record.late,
      relay_clients: this.scraper?.last?.clients,
    });
  }

  private joinTotals() {
    const j = { joined: 0, refused: 0, gaveUp: 0, attempts: 0, resent: 0 };
    for (const w of this.workers) {
      j.joined += w.joining.joined;
      j.refused += w.joining.refused;
      j.gaveUp += w.joining.gaveUp;
      j.attempts += w.joining.attempts;
      j.resent += w.joining.resent;
    }
    return j;
  }

  private command(w: WorkerState, c: Command): void {
    w.thread.postMessage(c);
  }

  private throwIfFatal(): void {
    if (this.fatal !== undefined) throw new LoadError(this.fatal);
  }

  /** Waits until `done()` holds, a worker fails, Ctrl+C, or `timeoutMs` passes; re-checks on every report. */
  private async until(done: () => boolean, timeoutMs = Number.POSITIVE_INFINITY): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!done() && this.fatal === undefined && !(this.interrupted && !this.running)) {
      const left = Math.min(deadline - performance.now(), 250);
      if (deadline - performance.now() <= 0) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private async closeWorkers(): Promise<void> {
    for (const w of this.workers) this.command(w, { kind: "close", leave: this.o.leave });
    // Leaving is paced (clients.ts): 10 000 clients take about 200 ms; the bound only catches a hang.
    await this.until(() => this.workers.every((w) => w.closed), 5000);
    await Promise.all(this.workers.map((w) => w.thread.terminate()));
  }
}

/** Fills the summary's `relay` object, warns of clients that are not this run's, and says where the loss went. */
function addRelayFacts(summary: Summary, scraper: RelayScraper, recipients: number): void {
  const relay = relayFacts(summary, scraper, recipients);
  summary.relay = relay;
  const extra = strangers(scraper.first === undefined ? undefined : scraper.clientsPeak, summary.registered);
  if (extra > 0) {
    summary.warnings.unshift(`the relay had ${scraper.clientsPeak} clients registered, ${extra} more than this run joined: other clients shared its fan-out (suspect this first)`);
  }
  if (scraper.failures > 0) summary.warnings.push(`${scraper.failures} scrapes of ${scraper.url} failed${scraper.lastError ? ` (last: ${scraper.lastError})` : ""}`);
}

function isLoopback(host: string): boolean {
  return host.startsWith("127.") || host === "::1";
}

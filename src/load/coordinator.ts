// The fleet coordinator: claims N agents on the bus, splits the run, starts them together, merges what they stream.

import type { NatsConnection } from "@nats-io/transport-node";
import { formatEndpoint } from "../protocol/endpoint.ts";
import { type AgentOutcome, buildFleetSummary, type ClockReading, type FleetFacts } from "./fleet-summary.ts";
import { AGENT_SILENCE_MS, type AgentInfo, type AgentRecord, type ClaimReply, clockMs, connectBus, decode, encode, tryDecode, type StartOrder, subjects, type WorkOrder } from "./fleet.ts";
import { encodeHistogram, newHistogram } from "./histogram.ts";
import { IntervalRecorder, type IntervalRecord } from "./intervals.ts";
import { zeroCounters } from "./messages.ts";
import type { LoadOptions } from "./options.ts";
import type { IntervalView } from "./report.ts";
import { shareText, splitRun } from "./split.ts";
import { round, type Summary } from "./summary.ts";

/** Not enough agents, the bus unreachable, a share that could not start: one line, exit 1. */
export class FleetError extends Error {
  override readonly name = "FleetError";
}

const DISCOVER_EVERY_MS = 500;
const REQUEST_TIMEOUT_MS = 1000;
const CLOCK_SAMPLES = 8;
/** Every agent gets the start order this long before sending starts. */
const START_LEAD_US = 500_000;
/** After the schedule ends: the agents' drain cap (30 s) and a margin, then whoever has not reported is gone. */
const FINISH_MARGIN_MS = 40_000;
/** After Ctrl+C, how long the agents get to send their final records. */
const STOP_WAIT_MS = 6000;
/** Joining is bounded by liveness (AGENT_SILENCE_MS) and, as a whole, by this. */
const JOIN_CAP_MS = 300_000;

export interface FleetOutput {
  live(line: string): void;
  interval(record: IntervalRecord, view?: IntervalView): void;
}

interface Member extends AgentOutcome {
  lastSeenMs: number;
  joined?: { joined: number; senders: number; echo: boolean };
  drainSeen: boolean;
  gone: boolean;
}

/** One fleet run: `done` resolves with the merged summary; `interrupt()` is Ctrl+C. */
export class Coordinator {
  readonly done: Promise<Summary & { fleet: FleetFacts }>;
  private interrupted = false;
  private wake: (() => void) | undefined;
  private nc: NatsConnection | undefined;

  constructor(
    private readonly o: LoadOptions & { readonly bus: string; readonly agents: number; readonly agentsTimeoutS: number },
    private readonly workersGiven: boolean,
    private readonly out: FleetOutput,
    private readonly relayCpuS: () => number | null,
  ) {
    this.done = this.drive().finally(() => this.nc?.close());
  }

  interrupt(): void {
    this.interrupted = true;
    this.wake?.();
  }

  private async drive(): Promise<Summary & { fleet: FleetFacts }> {
    const o = this.o;
    const run = Math.random().toString(36).slice(2, 10);
    let nc: NatsConnection;
    try {
      nc = await connectBus(o.bus, `load coordinator ${run}`);
    } catch (err) {
      throw new FleetError((err as Error).message);
    }
    this.nc = nc;
    const infos = await this.claim(nc, run);
    infos.sort((a, b) => (a.name < b.name ? -1 : 1));
    const shares = splitRun(o.clients, o.senders, o.rate, infos.length);
    const members: Member[] = [];
    for (const [k, info] of infos.entries()) {
      const share = shares[k]!;
      if (share.clients > info.max_clients) {
        this.release(nc, run, infos);
        throw new FleetError(`agent ${info.name} can hold ${info.max_clients} clients (open-file limit), its share is ${share.clients}: raise its \`ulimit -n\` or add agents`);
      }
      const clock = await readClock(nc, info.name);
      members.push({ info, share, clock, lastSeenMs: performance.now(), drainSeen: false, gone: false });
    }
    this.out.live(`fleet: ${members.length} agents on ${o.bus}, run ${run}, against ${formatEndpoint(o.host, o.port)}`);
    for (const m of members) {
      const sign = m.clock.offset_ms >= 0 ? "+" : "";
      this.out.live(`  agent ${m.info.name} (${m.info.hostname}, ${m.info.cores} cores): ${shareText(m.share)}; clock ${sign}${m.clock.offset_ms.toFixed(3)} ± ${m.clock.uncertainty_ms.toFixed(3)} ms`);
    }

    // Records: every message is also a heartbeat.
    const byName = new Map(members.map((m) => [m.info.name, m]));
    let recorder: IntervalRecorder | undefined;
    let recipients = 0;
    let sentSoFar = 0;
    let uniqueSoFar = 0;
    let drainEndS = 0;
    const p99 = { last: 0 };
    const onRecord = (m: Member, r: AgentRecord) => {
      m.lastSeenMs = performance.now();
      switch (r.kind) {
        case "joined":
          m.joined = r;
          break;
        case "error":
          m.incomplete ??= `failed: ${r.message}`;
          break;
        case "final":
          m.final = r;
          if (!m.drainSeen && recorder !== undefined && !m.gone) this.emit(recorder.addFinal({ counters: zeroCounters(), latency: EMPTY, raw: EMPTY, spread: EMPTY }, drainEndS), undefined);
          m.drainSeen = true;
          break;
        case "interval": {
          if (recorder === undefined || m.gone) break;
          const rec = r.record;
          const counters = { ...zeroCounters(), sent: rec.sent, delivered: rec.delivered, duplicates: rec.duplicates ?? 0, late: rec.late };
          const part = { counters, latency: rec.histograms.latency, raw: rec.histograms.raw, spread: rec.histograms.spread };
          if (rec.drain) {
            m.drainSeen = true;
            drainEndS = Math.max(drainEndS, rec.t_s);
            this.emit(recorder.addFinal(part, drainEndS), undefined);
          } else {
            const merged = recorder.add(Math.round(rec.t_s) - 1, part);
            if (merged !== undefined) {
              sentSoFar += merged.sent;
              uniqueSoFar += merged.delivered - merged.duplicates;
              p99.last = Math.max(p99.last, merged.p99_us);
              const owed = (sentSoFar - merged.sent) * recipients;
              this.emit(merged, {
                t_s: merged.t_s,
                joined: members.reduce((n, x) => n + (x.joined?.joined ?? 0), 0),
                sent_per_s: merged.sent,
                deliveries_per_s: merged.delivered,
                loss_so_far: owed > 0 ? round(Math.max(0, 1 - uniqueSoFar / owed), 6) : 0,
                p99_so_far_us: p99.last,
                late: merged.late,
              });
            }
          }
          break;
        }
      }
      this.wake?.();
    };
    nc.subscribe(subjects.allRecords(run), {
      callback: (err, msg) => {
        if (err !== null) return;
        const m = byName.get(msg.subject.slice(msg.subject.lastIndexOf(".") + 1));
        const r = tryDecode<AgentRecord>(msg.data);
        if (m !== undefined && r !== undefined) onRecord(m, r);
      },
    });

    // Work orders: one epoch for the fleet, put on each agent's clock with its measured offset.
    const epochMs = clockMs();
    const runTag = run.slice(0, 4);
    for (const m of members) {
      const order: WorkOrder = {
        run,
        options: { ...o, clients: m.share.clients, senders: m.share.senders, rate: m.share.rate },
        workersGiven: this.workersGiven,
        share: m.share,
        totalSenders: o.senders,
        runTag,
        epoch_ms: epochMs + m.clock.offset_ms,
      };
      try {
        const reply = decode<{ ok: boolean }>((await nc.request(subjects.work(m.info.name), encode(order), { timeout: REQUEST_TIMEOUT_MS })).data);
        if (!reply.ok) throw new Error("refused the work (its claim had lapsed)");
      } catch (err) {
        this.stop(nc, run);
        throw new FleetError(`agent ${m.info.name} did not take its share: ${(err as Error).message}`);
      }
      m.lastSeenMs = performance.now();
    }

    // Join, bounded by liveness.
    const live = members.filter((m) => !m.gone);
    const joinDeadline = performance.now() + JOIN_CAP_MS;
    await this.until(() => {
      this.markSilent(members);
      return this.interrupted || members.every((m) => m.joined !== undefined || m.gone || m.incomplete !== undefined) || performance.now() > joinDeadline;
    });
    const failed = members.filter((m) => m.joined === undefined);
    if (failed.length > 0 || this.interrupted) {
      this.stop(nc, run);
      if (this.interrupted) throw new FleetError("interrupted while the agents were joining");
      throw new FleetError(failed.map((m) => `agent ${m.info.name}: ${m.incomplete ?? (m.gone ? "went silent while joining" : "did not finish joining in time")}`).join("; "));
    }
    const joined = live.reduce((n, m) => n + m.joined!.joined, 0);
    const echo = live.every((m) => m.joined!.echo);
    recipients = echo ? joined : joined - 1;
    recorder = new IntervalRecorder(members.length, recipients, () => ({ relayCpuS: this.relayCpuS(), relayDrops: null, clientDrops: null }));
    const relay0 = this.relayCpuS();
    const t0Us = Math.ceil((clockMs() - epochMs) * 1000) + START_LEAD_US;
    const start: StartOrder = { recipients, t0_us: t0Us };
    nc.publish(subjects.start(run), encode(start));
    const startedAt = new Date(epochMs + t0Us / 1000).toISOString();
    this.out.live(`fleet: ${joined}/${o.clients} clients registered on ${members.length} agents; all start sending at ${startedAt}`);

    // Run and collect, bounded: by liveness, and by the schedule plus the drain cap.
    const finishBy = performance.now() + START_LEAD_US / 1000 + o.durationS * 1000 + FINISH_MARGIN_MS;
    let stopAt = Number.POSITIVE_INFINITY;
    await this.until(() => {
      for (const _ of this.markSilent(members)) for (const r of recorder!.dropReporter()) this.emit(r, undefined);
      if (this.interrupted && stopAt === Number.POSITIVE_INFINITY) {
        stopAt = performance.now() + STOP_WAIT_MS;
        this.stop(nc, run);
      }
      const now = performance.now();
      return members.every((m) => m.final !== undefined || m.gone || m.incomplete !== undefined) || now > finishBy || now > stopAt;
    });
    for (const m of members) if (m.final === undefined) m.incomplete ??= "no final record in time";
    const relay1 = this.relayCpuS();
    this.release(nc, run, infos);
    await nc.flush().catch(() => {});
    return buildFleetSummary({
      options: o,
      bus: o.bus,
      target: formatEndpoint(o.host, o.port),
      agents: members,
      recipients,
      echo,
      interrupted: this.interrupted,
      intervals: recorder.records,
      relayCpuS: relay0 === null || relay1 === null ? null : relay1 - relay0,
      startedAt,
    });
  }

  /** Discovers and claims `agents` idle agents, within --agents-timeout. */
  private async claim(nc: NatsConnection, run: string): Promise<AgentInfo[]> {
    const o = this.o;
    const claimed = new Map<string, AgentInfo>();
    const refused = new Set<string>();
    const seen = new Map<string, AgentInfo>();
    const inbox = nc.subscribe(`_INBOX.load.${run}`, {
      callback: (err, m) => {
        if (err !== null) return;
        const info = tryDecode<AgentInfo>(m.data);
        if (info !== undefined) seen.set(info.name, info);
        this.wake?.();
      },
    });
    nc.subscribe(subjects.hello, {
      callback: (err, m) => {
        if (err !== null) return;
        const info = tryDecode<AgentInfo>(m.data);
        if (info === undefined) return;
        seen.set(info.name, info);
        refused.delete(info.name); // idle again: worth another try
        this.wake?.();
      },
    });
    const deadline = performance.now() + o.agentsTimeoutS * 1000;
    let nextDiscover = 0;
    while (claimed.size < o.agents && performance.now() < deadline && !this.interrupted) {
      if (performance.now() >= nextDiscover) {
        nc.publish(subjects.discover, encode({ run }), { reply: `_INBOX.load.${run}` });
        nextDiscover = performance.now() + DISCOVER_EVERY_MS;
      }
      for (const info of [...seen.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
        if (claimed.size >= o.agents) break;
        if (claimed.has(info.name) || refused.has(info.name) || info.busy !== null) continue;
        try {
          const reply = decode<ClaimReply>((await nc.request(subjects.claim(info.name), encode({ run }), { timeout: REQUEST_TIMEOUT_MS })).data);
          if (reply.ok) claimed.set(info.name, info);
          else refused.add(info.name);
        } catch {
          refused.add(info.name);
        }
      }
      await this.until(() => false, Math.min(DISCOVER_EVERY_MS, deadline - performance.now()));
    }
    inbox.unsubscribe();
    if (claimed.size < o.agents) {
      this.release(nc, run, [...claimed.values()]);
      await nc.flush().catch(() => {});
      const busy = [...seen.values()].filter((i) => i.busy !== null || refused.has(i.name)).length;
      if (this.interrupted) throw new FleetError(`interrupted while waiting for agents on ${o.bus}`);
      throw new FleetError(
        `${o.agents} agent${o.agents === 1 ? "" : "s"} wanted on ${o.bus}, ${claimed.size} free within ${o.agentsTimeoutS} s${busy > 0 ? ` (${busy} busy with another run)` : ""}: start \`bun run load agent --bus ${o.bus}\` on each generator host`,
      );
    }
    return [...claimed.values()];
  }

  private release(nc: NatsConnection, run: string, infos: readonly AgentInfo[]): void {
    for (const i of infos) nc.publish(subjects.release(i.name), encode({ run }));
  }

  private stop(nc: NatsConnection, run: string): void {
    nc.publish(subjects.stop(run), encode({}));
  }

  /** Members silent for AGENT_SILENCE_MS without a final record: marked gone, returned (once each). */
  private markSilent(members: Member[]): Member[] {
    const now = performance.now();
    const gone: Member[] = [];
    for (const m of members) {
      if (m.gone || m.final !== undefined || m.incomplete !== undefined || now - m.lastSeenMs < AGENT_SILENCE_MS) continue;
      m.gone = true;
      m.incomplete = `went silent (no record for ${AGENT_SILENCE_MS / 1000} s)`;
      this.out.live(`fleet: agent ${m.info.name} went silent: its share is incomplete`);
      gone.push(m);
    }
    return gone;
  }

  private emit(record: IntervalRecord | undefined, view: IntervalView | undefined): void {
    if (record !== undefined) this.out.interval(record, view);
  }

  /** Waits until `done()` holds, Ctrl+C, or `timeoutMs`; re-checks on every record and every 250 ms. */
  private async until(done: () => boolean, timeoutMs = Number.POSITIVE_INFINITY): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!done() && performance.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, Math.min(250, deadline - performance.now())));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
      if (this.interrupted && timeoutMs !== Number.POSITIVE_INFINITY) return;
    }
  }
}

/** The empty histogram, encoded: what an agent with nothing left to drain contributes. */
const EMPTY = encodeHistogram(newHistogram());

/** The agent's clock offset from CLOCK_SAMPLES request/replies: the one with the smallest round trip wins. */
async function readClock(nc: NatsConnection, name: string): Promise<ClockReading> {
  let best: ClockReading = { offset_ms: 0, uncertainty_ms: Number.POSITIVE_INFINITY };
  for (let i = 0; i < CLOCK_SAMPLES; i++) {
    const sent = clockMs();
    try {
      const reply = await nc.request(subjects.clock(name), encode({}), { timeout: REQUEST_TIMEOUT_MS });
      const back = clockMs();
      const { now_ms } = decode<{ now_ms: number }>(reply.data);
      const half = (back - sent) / 2;
      if (half < best.uncertainty_ms) best = { offset_ms: now_ms - (sent + half), uncertainty_ms: half };
    } catch {
      // a lost sample: the others decide
    }
  }
  if (!Number.isFinite(best.uncertainty_ms)) throw new FleetError(`agent ${name} does not answer clock requests`);
  return best;
}

// A load worker thread: its clients join, then its senders send on schedule and every client records what it receives.

import { parentPort, workerData } from "node:worker_threads";
import { ClientPool } from "./clients.ts";
import { encodeHistogram, newHistogram, recordUs } from "./histogram.ts";
import { receiveBuffer } from "./kernel.ts";
import { type Command, type Counters, clockUs, LATE_US, type Report, type WorkerSetup, zeroCounters } from "./messages.ts";
import { SendSchedule } from "./schedule.ts";
import { Arrival, SequenceTracker } from "./sequence.ts";
import { SpreadRing } from "./spread.ts";
import { type MessageFields, newPayload, readMessage, writeMessage } from "./wire.ts";

const setup = workerData as WorkerSetup;
const port = parentPort!;
const post = (report: Report) => port.postMessage(report);
const now = clockUs(setup.epochMs);

/** Sends at most this many messages per timer tick before letting received datagrams in. */
const MAX_BURST = 1024;
/** After the schedule ends, the run is over once no load message arrived for this long... */
const DRAIN_QUIET_US = 500_000;
/**
 * ...or this long has passed while lines still trickle in: a saturated relay with a deep socket buffer (the C
 * reference asks for 4 MiB) can take many seconds to empty it. What is still queued then counts as lost, and
 * the summary says so. After Ctrl+C, a short drain.
 */
const DRAIN_CAP_US = 30_000_000;
const STOP_QUIET_US = DRAIN_QUIET_US;
const STOP_CAP_US = 3_000_000;

const payloadBytes = setup.payloadBytes;
const totalSenders = setup.totalSenders;
const senderBase = setup.senderBase;
const ownSenders = setup.senders;
const payload = newPayload(payloadBytes);
const fields: MessageFields = { sender: 0, seq: 0, scheduledUs: 0, lagUs: 0 };
const ring = new SpreadRing(setup.spread);
let counters: Counters = zeroCounters();
const latency = newHistogram();
const raw = newHistogram();
const spread = newHistogram();
const cross = newHistogram();
const tracker = new SequenceTracker(setup.clients, totalSenders, setup.maxPairs);

/** Deliveries count only between `run` and the final report. */
let counting = false;
let spreadRecipients = 0;
let lastDeliveryUs = 0;
let probeText: Uint8Array | undefined;
let probeSender = -1;
let probeSelfSeen = false;
let probeOtherSeen = false;

// hot path: every datagram any of this worker's clients receives
function onData(local: number, datagram: Uint8Array): void {
  if (!readMessage(datagram, payloadBytes, fields) || fields.sender >= totalSenders || !counting) {
    onOther(local, datagram);
    return;
  }
  const t = now();
  const sinceScheduled = t - fields.scheduledUs;
  const sender = fields.sender;
  // Another agent's line was timestamped by another host's clock: kept apart, the coordinator decides if it counts.
  const own = sender >= senderBase && sender - senderBase < ownSenders;
  if (own) {
    recordUs(latency, sinceScheduled);
    recordUs(raw, sinceScheduled - fields.lagUs);
  } else recordUs(cross, sinceScheduled);
  counters.delivered++;
  lastDeliveryUs = t;
  const arrival = tracker.record(local, sender, fields.seq);
  if (arrival !== Arrival.inOrder) {
    if (arrival === Arrival.duplicate) {
      counters.duplicates++;
      return; // a second copy must not complete a message's spread
    }
    if (arrival === Arrival.reordered) counters.reordered++;
  }
  const index = setup.worker + local * setup.workers;
  if (index < ownSenders && sender === senderBase + index) counters.selfDeliveries++;
  // Only this generator's own messages have a slot in its ring (a fleet's agents each have their own ring).
  if (!own) return;
  const spreadUs = ring.arrive(SpreadRing.key(sender, fields.seq, totalSenders), sinceScheduled, spreadRecipients);
  if (spreadUs >= 0) {
    recordUs(spread, spreadUs);
    counters.complete++;
  }
}

// Cold path: challenges and join notices (until joined), probe lines, anything else.
function onOther(local: number, datagram: Uint8Array): void {
  counters.other++;
  if (pool.joined[local] === 0) pool.screen(local, datagram);
  if (probeText !== undefined && endsWith(datagram, probeText)) {
    if (pool.id(local) === probeSender) {
      if (!probeSelfSeen) post({ kind: "probeSeen", self: true });
      probeSelfSeen = true;
    } else {
      if (!probeOtherSeen) post({ kind: "probeSeen", self: false });
      probeOtherSeen = true;
    }
  }
}

function endsWith(datagram: Uint8Array, tail: Uint8Array): boolean {
  const at = datagram.length - tail.length;
  if (at < 0) return false;
  for (let i = 0; i < tail.length; i++) if (datagram[at + i] !== tail[i]) return false;
  return true;
}

let pool: ClientPool;
try {
  pool = await ClientPool.open(setup, onData);
  post({ kind: "opened", ports: pool.sockets.map((s) => s.port), receiveBufferBytes: receiveBuffer(pool.sockets[0] as { fd?: number } | undefined) });
} catch (err) {
  post({ kind: "fatal", message: (err as Error).message });
  throw err;
}

/** The sending and draining part of a run, driven by one timer. */
class Traffic {
  private readonly schedule: SendSchedule;
  private nextIntervalUs: number;
  private interval = 0;
  private sendingOverUs: number;
  private quietUs = DRAIN_QUIET_US;
  private capUs = DRAIN_CAP_US;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    senders: number[],
    ratePerSenderHz: number,
    private readonly t0Us: number,
    endUs: number,
    private readonly intervalUs: number,
  ) {
    this.schedule = new SendSchedule(senders, totalSenders, ratePerSenderHz, t0Us, endUs);
    this.nextIntervalUs = t0Us + intervalUs;
    this.sendingOverUs = endUs;
  }

  start(): void {
    this.timer = setTimeout(this.tick, Math.max(0, (this.t0Us - now()) / 1000));
  }

  /** Ctrl+C: nothing more is sent; a short drain, then the final report. */
  stop(): void {
    this.schedule.stop();
    const t = now();
    if (t < this.sendingOverUs) this.sendingOverUs = t;
    this.quietUs = STOP_QUIET_US;
    this.capUs = STOP_CAP_US;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.tick();
  }

  private readonly tick = (): void => {
    this.timer = undefined;
    const burstDone = this.sendDue();
    const t = now();
    if (t >= this.nextIntervalUs) {
      report(this.interval++, false);
      this.nextIntervalUs += this.intervalUs;
      if (this.nextIntervalUs <= t) this.nextIntervalUs = t + this.intervalUs;
    }
    if (this.schedule.dueUs === Number.POSITIVE_INFINITY && t >= this.sendingOverUs) {
      const lastUs = Math.max(lastDeliveryUs, this.sendingOverUs);
      const capped = t - this.sendingOverUs >= this.capUs;
      if (t - lastUs >= this.quietUs || capped) {
        counting = false;
        report(this.interval, true, capped && t - lastUs < this.quietUs);
        return;
      }
    }
    const waitMs = burstDone ? Math.min(this.nextIntervalUs - t, this.schedule.dueUs - t) / 1000 : 0;
    this.timer = setTimeout(this.tick, waitMs > 50 ? 50 : waitMs < 1 ? (burstDone ? 1 : 0) : Math.floor(waitMs));
  };

  // hot path: the due sends of one tick. Returns false when MAX_BURST cut it short.
  private sendDue(): boolean {
    const schedule = this.schedule;
    const sockets = pool.sockets;
    const workers = setup.workers;
    for (let n = 0; n < MAX_BURST; n++) {
      const due = schedule.dueUs;
      const t = now();
      if (due > t) return true;
      const sender = schedule.sender;
      const seq = schedule.seq;
      const lag = Math.floor(t - due);
      writeMessage(payload, sender, seq, due, lag);
      ring.open(SpreadRing.key(sender, seq, totalSenders));
      // Senders are this worker's clients: sender id = senderBase + worker + local × workers.
      if (sockets[(sender - senderBase - setup.worker) / workers]!.send(payload)) counters.sent++;
      else counters.sendErrors++;
      if (lag > LATE_US) counters.late++;
      schedule.advance();
    }
    return false;
  }
}

let unreachableReported = 0;

function report(index: number, final: boolean, drainCut = false): void {
  counters.unreachable = pool.unreachable - unreachableReported;
  unreachableReported = pool.unreachable;
  post({
    kind: "interval",
    index,
    final,
    counters,
    latency: encodeHistogram(latency),
    raw: encodeHistogram(raw),
    spread: encodeHistogram(spread),
    cross: encodeHistogram(cross),
    lastDeliveryUs,
    trackedReceivers: tracker.trackedReceivers,
    drainCut,
  });
  counters = zeroCounters();
  latency.reset();
  raw.reset();
  spread.reset();
  cross.reset();
}

let traffic: Traffic | undefined;

port.on("message", (command: Command) => {
  switch (command.kind) {
    case "join":
      pool.join(() => {
        pool.closeUnjoined();
        const senders = registeredSenders();
        let firstJoined = Number.POSITIVE_INFINITY;
        for (let local = pool.size - 1; local >= 0; local--) if (pool.joined[local] === 1) firstJoined = pool.id(local);
        post({ kind: "joined", senders, firstJoined, ...pool.progress });
      });
      joinProgress();
      break;
    case "probe":
      probeText = new TextEncoder().encode(command.text);
      probeSender = command.sender;
      probeSelfSeen = probeOtherSeen = false;
      if ((command.sender - setup.idBase) % setup.workers === setup.worker) {
        pool.sockets[(command.sender - setup.idBase - setup.worker) / setup.workers]!.send(probeText);
      }
      break;
    case "run": {
      probeText = undefined;
      spreadRecipients = command.spreadRecipients;
      counters = zeroCounters();
      unreachableReported = pool.unreachable;
      traffic = new Traffic(registeredSenders(), command.ratePerSenderHz, command.t0Us, command.endUs, command.intervalUs);
      counting = true;
      traffic.start();
      break;
    }
    case "stop":
      traffic?.stop();
      break;
    case "close":
      void (command.leave ? pool.leave() : Promise.resolve()).then(() => {
        pool.close();
        post({ kind: "closed" });
        port.close();
      });
      break;
  }
});

function registeredSenders(): number[] {
  const senders: number[] = [];
  for (let local = 0; local < pool.size; local++) {
    const index = setup.worker + local * setup.workers;
    if (index < ownSenders && pool.joined[local] === 1) senders.push(senderBase + index);
  }
  return senders;
}

function joinProgress(): void {
  const timer = setInterval(() => {
    post({ kind: "joining", ...pool.progress });
    if (pool.joinedCount + pool.progress.gaveUp === pool.size) clearInterval(timer);
  }, 250);
}

// What the main thread and the worker threads of a load run tell each other. Types only, plus the clock they share.

/** Given to each worker at start (`workerData`). */
export interface WorkerSetup {
  readonly worker: number;
  readonly workers: number;
  readonly host: string;
  readonly port: number;
  readonly bind: string;
  /** This worker's clients: global ids `worker, worker + workers, …` below `clients`. */
  readonly clients: number;
  /** This generator's first client id: 0, or the start of an agent's share (names stay unique across agents). */
  readonly idBase: number;
  /** This generator's senders: its clients whose index (id − idBase) is below this. */
  readonly senders: number;
  /** Wire sender id of this generator's first sender: 0, or the start of an agent's share of the senders. */
  readonly senderBase: number;
  /** Sender ids over every generator of the run (all agents'): wire sender ids are below it. */
  readonly totalSenders: number;
  readonly payloadBytes: number;
  /** Joins per second for this worker; 0 = windowed. */
  readonly joinRate: number;
  /** Outstanding joins this worker allows when not paced by `joinRate`. */
  readonly joinWindow: number;
  /** Names are `c<id>-<runTag>`: a second run against the same relay must not find its names taken. */
  readonly runTag: string;
  /** The run's clock origin, on the `performance.timeOrigin` scale (ms). */
  readonly epochMs: number;
  readonly spread: SharedArrayBuffer;
  /** (receiver, sender) pairs this worker may track sequence numbers for. */
  readonly maxPairs: number;
}

export type Command =
  | { readonly kind: "join" }
  /** Start listening for a probe line; `sender` (a global id) is the client that sends it, if it is ours. */
  | { readonly kind: "probe"; readonly text: string; readonly sender: number }
  | {
      readonly kind: "run";
      readonly t0Us: number;
      readonly endUs: number;
      readonly ratePerSenderHz: number;
      /** Deliveries each message should make: registered clients, less the sender without echo. */
      readonly recipients: number;
      /** Recipients among this generator's own clients: a message's spread completes there (= recipients on one host). */
      readonly spreadRecipients: number;
      readonly intervalUs: number;
    }
  /** Stop sending now (Ctrl+C), drain briefly, report. */
  | { readonly kind: "stop" }
  /** The run is over: every joined client sends /quit first (unless --no-leave), then the sockets close. */
  | { readonly kind: "close"; readonly leave: boolean };

/** Counters for one interval (deltas) or the whole run (sums). */
export interface Counters {
  sent: number;
  /** Sends that left more than LATE_US after their scheduled time. */
  late: number;
  sendErrors: number;
  delivered: number;
  duplicates: number;
  reordered: number;
  /** Datagrams that were not load messages (notices, probes, foreign lines). */
  other: number;
  /** Deliveries of a sender's line to itself: proof of echo. */
  selfDeliveries: number;
  /** Messages all recipients received (their spread is in the spread histogram). */
  complete: number;
  /** ICMP errors (port or host unreachable) on the clients' sockets: the relay went away? */
  unreachable: number;
}

export function zeroCounters(): Counters {
  return { sent: 0, late: 0, sendErrors: 0, delivered: 0, duplicates: 0, reordered: 0, other: 0, selfDeliveries: 0, complete: 0, unreachable: 0 };
}

export function addCounters(into: Counters, from: Counters): void {
  for (const k of Object.keys(into) as (keyof Counters)[]) into[k] += from[k];
}

export interface JoinProgress {
  readonly joined: number;
  /** Clients whose name send was refused (ICMP port unreachable). */
  readonly refused: number;
  readonly gaveUp: number;
  /** Name datagrams sent, first tries and retries. */
  readonly attempts: number;
  /** Of those, retries. */
  readonly resent: number;
}

export type Report =
  /** Sockets open; `ports` are their local ports (for the kernel's per-socket drop counters); the receive buffer one was granted. */
  | { readonly kind: "opened"; readonly ports: number[]; readonly receiveBufferBytes: number | null }
  | { readonly kind: "fatal"; readonly message: string }
  | ({ readonly kind: "joining" } & JoinProgress)
  /** Join phase over for this worker; `senders` are its registered sender ids, `firstJoined` its lowest joined id (Infinity if none). */
  | ({ readonly kind: "joined"; readonly senders: number[]; readonly firstJoined: number } & JoinProgress)
  | { readonly kind: "probeSeen"; readonly self: boolean }
  | {
      readonly kind: "interval";
      readonly index: number;
      readonly final: boolean;
      readonly counters: Counters;
      /** Compressed histograms of this interval (µs): latency from scheduled send, from actual send, spread. */
      readonly latency: string;
      readonly raw: string;
      readonly spread: string;
      /** Latency of lines from other agents' senders (timestamped on another host's clock); empty on one host. */
      readonly cross: string;
      readonly lastDeliveryUs: number;
      readonly trackedReceivers: number;
      /** The drain ended at its cap with lines still arriving: some "lost" ones were only late. */
      readonly drainCut: boolean;
    }
  | { readonly kind: "closed" };

/** Sends later than this after their scheduled time count as late: two ticks of the 1 ms pacing timer. */
export const LATE_US = 2000;

/** Microseconds since the run's epoch. Every thread's `performance.now()` has its own origin; `timeOrigin` puts them on one scale. */
export function clockUs(epochMs: number): () => number {
  const offsetMs = performance.timeOrigin - epochMs;
  return () => (performance.now() + offsetMs) * 1000;
}

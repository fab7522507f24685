// The fleet's wire over NATS: subjects, message shapes and the JSON codec shared by agents and their coordinator.

import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { HostFacts } from "./host.ts";
import type { IntervalRecord } from "./intervals.ts";
import type { LoadOptions } from "./options.ts";
import type { RunTotals } from "./run.ts";
import type { Share } from "./split.ts";
import type { Summary } from "./summary.ts";

/** Every subject the fleet uses, in one place. `<name>` is an agent's name, `<run>` a run id. */
export const subjects = {
  /** Coordinator → every agent, with a reply inbox: each answers with its AgentInfo. */
  discover: "load.agents.discover",
  /** Agent → anyone listening: its AgentInfo, when it connects and when it becomes idle again. */
  hello: "load.agents.hello",
  /** Request → ClaimReply: reserve an idle agent for one run. */
  claim: (name: string) => `load.agent.${name}.claim`,
  /** Publish {run}: a claim given back (the run never started). */
  release: (name: string) => `load.agent.${name}.release`,
  /** Request → {now_ms}: the agent's clock, for the offset measurement. */
  clock: (name: string) => `load.agent.${name}.clock`,
  /** Request WorkOrder → {ok}: the agent's share of the run. */
  work: (name: string) => `load.agent.${name}.work`,
  /** Agent → coordinator: AgentRecord stream of one run. */
  records: (run: string, name: string) => `load.run.${run}.agent.${name}`,
  /** All agents' records of one run (the coordinator's subscription). */
  allRecords: (run: string) => `load.run.${run}.agent.*`,
  /** Coordinator → agents: StartOrder, once every share has joined. */
  start: (run: string) => `load.run.${run}.start`,
  /** Coordinator → agents: stop sending now (Ctrl+C or a failed run), then the final record. */
  stop: (run: string) => `load.run.${run}.stop`,
} as const;

/** What an agent says about itself. */
export interface AgentInfo {
  readonly name: string;
  readonly hostname: string;
  readonly cores: number;
  /** Clients it can hold: its open-file limit less headroom. */
  readonly max_clients: number;
  readonly bind: string;
  /** The run it is busy with, or null when idle. */
  readonly busy: string | null;
  readonly host: HostFacts;
}

export type ClaimReply = { readonly ok: true } | { readonly ok: false; readonly busy: string };

/** A share of the run, sent to its agent. Times are on the agent's own clock, offset-corrected by the coordinator. */
export interface WorkOrder {
  readonly run: string;
  /** The share's options: clients, senders and rate are the share's; workers the coordinator's --workers if given. */
  readonly options: LoadOptions;
  readonly workersGiven: boolean;
  readonly share: Share;
  readonly totalSenders: number;
  readonly runTag: string;
  /** The fleet's run epoch on this agent's `performance.timeOrigin` scale, ms. */
  readonly epoch_ms: number;
}

export interface StartOrder {
  /** Deliveries each message should make, over the whole fleet. */
  readonly recipients: number;
  /** When sending starts, µs after the epoch (the same number on every agent). */
  readonly t0_us: number;
}

/** What an agent publishes during a run, on `records(run, name)`. */
export type AgentRecord =
  /** Once a second from the claim to the final record: the agent is alive. */
  | { readonly kind: "alive" }
  /** The share has joined and probed echo; the agent waits for the StartOrder. */
  | { readonly kind: "joined"; readonly joined: number; readonly senders: number; readonly echo: boolean }
  /** One interval of the share, as --json-stream prints it (the drain record too). */
  | { readonly kind: "interval"; readonly record: IntervalRecord }
  /** The share's summary and what the fleet's summary needs beyond it. */
  | { readonly kind: "final"; readonly summary: Summary; readonly totals: RunTotals | null }
  /** The share could not run (relay unreachable, out of sockets, coordinator gone). */
  | { readonly kind: "error"; readonly message: string };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encode(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

export function decode<T>(data: Uint8Array): T {
  return JSON.parse(decoder.decode(data)) as T;
}

/** For subscriptions: undefined for what is not JSON (a "no responders" status is an empty message), never a throw in a callback. */
export function tryDecode<T>(data: Uint8Array): T | undefined {
  if (data.length === 0) return undefined;
  try {
    return decode<T>(data);
  } catch {
    return undefined;
  }
}

/** This process's clock, ms on the `performance.timeOrigin` scale (Unix ms, monotonic within the process). */
export function clockMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Agent names become subject tokens: letters, digits, `-` and `_`. */
export const AGENT_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Silence after which an agent counts as gone: three missed heartbeats. */
export const AGENT_SILENCE_MS = 3000;
export const HEARTBEAT_MS = 1000;
const CONNECT_TIMEOUT_MS = 3000;

/** Connects to the bus; throws Error naming the URL. No endless reconnects: every wait in a fleet run is bounded. */
export async function connectBus(url: string, name: string): Promise<NatsConnection> {
  try {
    return await connect({ servers: url, name, timeout: CONNECT_TIMEOUT_MS, maxReconnectAttempts: 10, reconnectTimeWait: 250 });
  } catch (err) {
    throw new Error(`cannot reach the bus at ${url}: ${(err as Error).message}`);
  }
}

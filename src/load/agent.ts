// A generator agent: waits on the bus for a coordinator's work, runs its share as an ordinary LoadRun, streams the records back.

import { availableParallelism, hostname } from "node:os";
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import { RECEIVE_BUFFER_BYTES } from "./clients.ts";
import { type AgentInfo, type AgentRecord, type ClaimReply, clockMs, connectBus, decode, encode, tryDecode, HEARTBEAT_MS, type StartOrder, subjects, type WorkOrder } from "./fleet.ts";
import { readHostFacts } from "./host.ts";
import { ensureFdLimit } from "./kernel.ts";
import { LoadRun } from "./run.ts";

/** What `load agent` is told. */
export interface AgentOptions {
  readonly bus: string;
  readonly name: string;
  /** Local address for its clients' sockets; undefined = any of the relay's address family. */
  readonly bind: string | undefined;
}

/** File descriptors beyond one per client (as for a single-host run). */
export const FD_HEADROOM = 64;
/** A claim not followed by work within this long is dropped: the coordinator went away before starting. */
const CLAIM_HOLD_MS = 15_000;
/** Longest wait for the start order after joining: the coordinator waits for the slowest share, within its own bounds. */
const START_WAIT_MS = 120_000;

/** An agent connected to the bus. `stopped` resolves when it has left (Ctrl+C: `leave()`). */
export class Agent {
  private busy: string | null = null;
  private claimTimer: ReturnType<typeof setTimeout> | undefined;
  private run: LoadRun | undefined;
  private readonly subs: Subscription[] = [];

  private constructor(
    private readonly nc: NatsConnection,
    private readonly o: AgentOptions,
    private readonly maxClients: number,
    private readonly log: (line: string) => void,
  ) {}

  /** Connects, announces itself, and answers discovery, claims, clock reads and work. Throws naming the bus. */
  static async start(o: AgentOptions, log: (line: string) => void): Promise<Agent> {
    const nc = await connectBus(o.bus, `load agent ${o.name}`);
    // What this host can hold: raise the soft limit as far as the hard one allows, then count what is left.
    const probe = ensureFdLimit(Number.MAX_SAFE_INTEGER);
    const maxClients = Number.isFinite(probe.soft) ? Math.max(0, Math.max(probe.soft, probe.hard) - FD_HEADROOM) : 100_000;
    const agent = new Agent(nc, o, maxClients, log);
    agent.listen();
    nc.publish(subjects.hello, encode(agent.info()));
    log(`agent ${o.name}: on ${o.bus}, ${availableParallelism()} cores, up to ${maxClients} clients; waiting for work`);
    return agent;
  }

  info(): AgentInfo {
    return {
      name: this.o.name,
      hostname: hostname(),
      cores: availableParallelism(),
      max_clients: this.maxClients,
      bind: this.o.bind ?? "any",
      busy: this.busy,
      host: readHostFacts(RECEIVE_BUFFER_BYTES, null),
    };
  }

  /** Ctrl+C: a run in progress stops sending and sends its final record; then the connection drains. */
  async leave(): Promise<void> {
    this.run?.interrupt();
    if (this.run !== undefined) await Promise.race([this.run.done.catch(() => {}), Bun.sleep(5000)]);
    await Bun.sleep(50);
    await Promise.race([this.nc.drain().catch(() => {}), Bun.sleep(1000)]);
  }

  private listen(): void {
    const name = this.o.name;
    const on = (subject: string, handle: (m: Msg) => void) => this.subs.push(this.nc.subscribe(subject, { callback: (err, m) => {
      if (err === null && m.data.length > 0) {
        try {
          handle(m);
        } catch (e) {
          this.log(`agent ${name}: ignored a bad message on ${m.subject}: ${(e as Error).message}`);
        }
      }
    } }));
    on(subjects.discover, (m) => m.respond(encode(this.info())));
    on(subjects.clock(name), (m) => m.respond(encode({ now_ms: clockMs() })));
    on(subjects.claim(name), (m) => {
      const { run } = decode<{ run: string }>(m.data);
      // A second coordinator does not take an agent that is busy: first claim wins until the run ends or is given back.
      if (this.busy !== null) return void m.respond(encode({ ok: false, busy: this.busy } satisfies ClaimReply));
      this.busy = run;
      this.claimTimer = setTimeout(() => this.idle(run), CLAIM_HOLD_MS);
      m.respond(encode({ ok: true } satisfies ClaimReply));
    });
    on(subjects.release(name), (m) => {
      const { run } = decode<{ run: string }>(m.data);
      if (this.busy === run && this.run === undefined) this.idle(run);
    });
    on(subjects.work(name), (m) => {
      const order = decode<WorkOrder>(m.data);
      if (this.busy !== order.run || this.run !== undefined) return void m.respond(encode({ ok: false }));
      clearTimeout(this.claimTimer);
      m.respond(encode({ ok: true }));
      void this.work(order);
    });
  }

  private idle(run: string): void {
    if (this.busy !== run) return;
    clearTimeout(this.claimTimer);
    this.busy = null;
    this.run = undefined;
    this.nc.publish(subjects.hello, encode(this.info()));
  }

  private async work(order: WorkOrder): Promise<void> {
    const nc = this.nc;
    const subject = subjects.records(order.run, this.o.name);
    const publish = (r: AgentRecord) => nc.publish(subject, encode(r));
    const heartbeat = setInterval(() => publish({ kind: "alive" }), HEARTBEAT_MS);
    publish({ kind: "alive" });
    let onStart: ((s: StartOrder) => void) | undefined;
    const startSub = nc.subscribe(subjects.start(order.run), {
      callback: (err, m) => {
        const start = err === null ? tryDecode<StartOrder>(m.data) : undefined;
        if (start !== undefined) onStart?.(start);
      },
    });
    let stopped = false;
    let cancelGate: ((e: Error) => void) | undefined;
    const stopSub = nc.subscribe(subjects.stop(order.run), {
      callback: () => {
        stopped = true;
        this.run?.interrupt();
        cancelGate?.(new Error("the coordinator called the run off"));
      },
    });
    const share = order.share;
    const o = order.options;
    const workers = Math.max(1, Math.min(order.workersGiven ? o.workers : availableParallelism(), share.clients));
    const bind = this.o.bind ?? (o.host.includes(":") ? "::" : "0.0.0.0");
    const options = Object.freeze({ ...o, workers, bind, quiet: true, json: false, jsonStream: false, out: undefined, report: undefined, spawnServer: false, relayPid: undefined });
    this.log(`agent ${this.o.name}: run ${order.run}: ${share.clients} clients from id ${share.idBase}, ${share.senders} senders, ${share.rate} msg/s against ${o.host}:${o.port}`);
    try {
      const limit = ensureFdLimit(share.clients + FD_HEADROOM);
      if (!limit.ok) throw new Error(limit.advice);
      const run = new LoadRun(
        options,
        { live: () => {}, interval: (record) => publish({ kind: "interval", record }) },
        () => null,
        {
          idBase: share.idBase,
          senderBase: share.senderBase,
          totalSenders: order.totalSenders,
          epochMs: order.epoch_ms,
          runTag: order.runTag,
          gate: (joined) =>
            new Promise((resolve, reject) => {
              if (stopped) return reject(new Error("the coordinator called the run off"));
              const timer = setTimeout(() => reject(new Error(`no start order within ${START_WAIT_MS / 1000} s: the coordinator went away`)), START_WAIT_MS);
              cancelGate = (e) => {
                clearTimeout(timer);
                reject(e);
              };
              onStart = (s) => {
                clearTimeout(timer);
                resolve({ recipients: s.recipients, t0Us: s.t0_us });
              };
              publish({ kind: "joined", ...joined });
            }),
        },
      );
      this.run = run;
      const summary = await run.done;
      publish({ kind: "final", summary, totals: run.totalsAtEnd ?? null });
      this.log(`agent ${this.o.name}: run ${order.run} done: ${summary.sent} sent, ${summary.delivered} received`);
    } catch (err) {
      publish({ kind: "error", message: (err as Error).message });
      this.log(`agent ${this.o.name}: run ${order.run} failed: ${(err as Error).message}`);
    } finally {
      clearInterval(heartbeat);
      startSub.unsubscribe();
      stopSub.unsubscribe();
      await nc.flush().catch(() => {});
      this.idle(order.run);
    }
  }
}

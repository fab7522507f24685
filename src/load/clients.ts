// A worker's synthetic clients: one connected UDP socket each, and their registration with retries and backoff.

import { challengeReply } from "../protocol/answer.ts";
import { notice, SERVER_TAG } from "../protocol/wire.ts";
import { setReceiveBuffer } from "./kernel.ts";
import type { JoinProgress, WorkerSetup } from "./messages.ts";

const QUIT = new TextEncoder().encode("/quit");
/** Leaves sent per pause per worker: 250 every 5 ms is 50 000 a second, well inside a 4 MiB receive buffer. */
const LEAVE_BATCH = 250;
const LEAVE_PAUSE_MS = 5;

/** Receive callback: `local` is the client's index in this worker. */
export type DataHandler = (local: number, datagram: Uint8Array) => void;

/** Socket receive buffer asked for per client, as the C load driver does. */
export const RECEIVE_BUFFER_BYTES = 1 << 20;
/**
 * Re-sending a name is not free: if the first one is only queued at the relay, the relay takes the second
 * for a chat line and sends it to everyone. Joining is slow by nature at scale — a join costs the relay
 * one send per registered client — so the retry timer follows the measured join round trip the way TCP's
 * does: RTO = max(MIN_RTO_MS, 4 × smoothed RTT), sampled only from names answered at the first try, and
 * doubled (up to MAX_RTO_MS) whenever a retry fires, until a fresh sample says otherwise (Karn). Each
 * client's own waits double per attempt from there, with ±20 % jitter.
 */
const MIN_RTO_MS = 250;
const MAX_RTO_MS = 8000;
/** Name sends per client before it is given up. */
const MAX_ATTEMPTS = 6;
/**
 * Outstanding joins are limited to JOIN_WINDOW × min(1, 1000 / registered) over all workers (at least one
 * per worker): with more clients registered each join costs more, and joins beyond what keeps the relay
 * busy only wait in its queue, where the retry timer mistakes them for lost.
 */
const WINDOW_FULL_UP_TO = 1000;
/** How often the join loop looks at the clock. */
const JOIN_TICK_MS = 10;

/** A client's name: `c<global id>-<run tag>`, unique per run (the relay may still hold an earlier run's clients). */
export function clientName(id: number, runTag: string): string {
  return `c${id}-${runTag}`;
}

const utf8 = new TextEncoder();
const decoder = new TextDecoder();
const NAME_REFUSED = `${SERVER_TAG} Name refused`;

/** What a datagram to a client that has not joined yet says about its registration. */
export const JoinReply = { joined: 0, challenge: 1, refused: 2 } as const;
export type JoinReply = (typeof JoinReply)[keyof typeof JoinReply];

/**
 * Reads a datagram that reached a client before it joined. The relay sends registered clients everything, and
 * unregistered addresses only three things: an address-validation challenge, a name refusal, or "full".
 * Anything else proves the registration went through (even if the client's own join notice was lost).
 */
export function classifyJoinReply(text: string): JoinReply {
  if (challengeReply(text) !== undefined) return JoinReply.challenge;
  if (text.startsWith(NAME_REFUSED) || text === notice.full) return JoinReply.refused;
  return JoinReply.joined;
}

/**
 * The sockets of one worker. Client `local` has global id `worker + local × workers`, so senders (the
 * lowest ids) are spread over all workers.
 *
 * A client counts as joined once the relay sends it anything but a challenge or a refusal (`classifyJoinReply`).
 * Normally that is its own join notice; but the notice can be lost while the registration went through, and
 * retrying such a client would send its name again, which the relay would relay as a chat line. A relay that
 * validates addresses (any non-loopback bind) answers the name with a challenge, answered here at once.
 */
export class ClientPool {
  readonly sockets: Bun.udp.ConnectedSocket<"uint8array">[] = [];
  /** 1 once joined. */
  readonly joined: Uint8Array;
  joinedCount = 0;
  private readonly attempts: Uint8Array;
  private readonly nextTryMs: Float64Array;
  private readonly firstTryMs: Float64Array;
  /** Smoothed round trip of first-try joins (ms), as TCP smooths its RTT: 7/8 old + 1/8 new. */
  private srttMs = 0;
  private rtoMs = MIN_RTO_MS;
  /** Clients whose name is out and unanswered. */
  private readonly waiting: number[] = [];
  private readonly refusedBy: Uint8Array;
  private refused = 0;
  /** ICMP errors over the whole run (a relay that went away mid-run shows here). */
  unreachable = 0;
  private gaveUp = 0;
  private sends = 0;
  private started = 0;
  private outstanding = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  private constructor(
    private readonly setup: WorkerSetup,
    readonly size: number,
  ) {
    this.joined = new Uint8Array(size);
    this.attempts = new Uint8Array(size);
    this.nextTryMs = new Float64Array(size);
    this.firstTryMs = new Float64Array(size);
    this.refusedBy = new Uint8Array(size);
  }

  /** Opens every client's socket, bound to `setup.bind` and connected to the relay. Throws with a readable message. */
  static async open(setup: WorkerSetup, onData: DataHandler): Promise<ClientPool> {
    const pool = new ClientPool(setup, setup.clients);
    for (let local = 0; local < pool.size; local++) {
      let socket: Bun.udp.ConnectedSocket<"uint8array">;
      try {
        socket = await Bun.udpSocket({
          hostname: setup.bind,
          binaryType: "uint8array",
          connect: { hostname: setup.host, port: setup.port },
          // One closure per client, made once: the receive path then knows the client without a lookup.
          // Bun calls `error` (with no detail) for an ICMP error queued on the socket: on a connected UDP
          // socket that is port or host unreachable, i.e. nothing listening at the relay's address.
          socket: { data: (_s, datagram) => onData(local, datagram), error: () => pool.markRefused(local) },
        });
      } catch (err) {
        pool.close();
        const code = (err as { code?: string }).code ?? "";
        if (code === "EMFILE" || code === "ENFILE") throw new Error(`out of file descriptors after ${pool.sockets.length + 1} sockets in this worker (${code}); raise \`ulimit -n\``);
        if (code === "EADDRNOTAVAIL") throw new Error(`--bind ${setup.bind}: address not available on this host`);
        throw new Error(`cannot open client socket ${local}: ${(err as Error).message}`);
      }
      setReceiveBuffer(socket as { fd?: number }, RECEIVE_BUFFER_BYTES);
      pool.sockets.push(socket);
    }
    return pool;
  }

  /** Global id of local client `local`. */
  id(local: number): number {
    return this.setup.idBase + this.setup.worker + local * this.setup.workers;
  }

  /** Marks a client joined; called by the receive path for the first datagram a client gets. */
  markJoined(local: number): void {
    if (this.joined[local] === 1) return;
    this.joined[local] = 1;
    this.joinedCount++;
    const attempts = this.attempts[local]!;
    if (attempts > 0) this.outstanding--;
    if (attempts === 1) {
      const sample = performance.now() - this.firstTryMs[local]!;
      this.srttMs = this.srttMs === 0 ? sample : this.srttMs + (sample - this.srttMs) / 8;
      this.rtoMs = Math.min(MAX_RTO_MS, Math.max(MIN_RTO_MS, 4 * this.srttMs));
    }
  }

  get progress(): JoinProgress {
    return { joined: this.joinedCount, refused: this.refused, gaveUp: this.gaveUp, attempts: this.sends, resent: this.sends - this.started };
  }

  /**
   * Registers every client: new joins paced at `setup.joinRate` per second, or kept to `setup.joinWindow`
   * outstanding; unanswered ones re-sent with exponential backoff. Calls `done` once every client has
   * joined or been given up.
   */
  join(done: () => void): void {
    const t0 = performance.now();
    const tick = () => {
      const now = performance.now();
      const rate = this.setup.joinRate;
      const allowed = rate > 0 ? Math.min(this.size, Math.floor(((now - t0) / 1000) * rate) + 1) : this.size;
      const registered = this.joinedCount * this.setup.workers;
      const window = Math.max(1, Math.floor(this.setup.joinWindow * Math.min(1, WINDOW_FULL_UP_TO / Math.max(1, registered))));
      while (this.started < allowed && (rate > 0 || this.outstanding < window)) {
        const local = this.started++;
        this.outstanding++;
        this.waiting.push(local);
        this.sendName(local, now);
      }
      // Only the clients still waiting are looked at (and kept): with thousands joined, a scan of all every tick costs.
      let kept = 0;
      for (const local of this.waiting) {
        if (this.joined[local] === 1) continue;
        if (this.nextTryMs[local]! <= now) {
          if (this.attempts[local] === MAX_ATTEMPTS) {
            this.gaveUp++;
            this.outstanding--;
            continue;
          }
          this.rtoMs = Math.min(MAX_RTO_MS, this.rtoMs * 2); // a timeout: back off for everyone (Karn)
          this.sendName(local, now);
        }
        this.waiting[kept++] = local;
      }
      this.waiting.length = kept;
      if (this.joinedCount + this.gaveUp === this.size) {
        this.timer = undefined;
        done();
      } else this.timer = setTimeout(tick, JOIN_TICK_MS);
    };
    tick();
  }

  /** Closes the sockets of clients that never joined: they are no one's recipients and must not count. */
  closeUnjoined(): void {
    for (let local = 0; local < this.size; local++) {
      if (this.joined[local] === 0) this.sockets[local]!.close();
    }
  }

  /**
   * Every joined client sends /quit, so the next run starts against a relay that holds only its own clients.
   * Paced (LEAVE_BATCH every LEAVE_PAUSE_MS) so the burst fits the relay's receive buffer, and the sockets stay
   * open a moment after, so the last /quit leaves before its socket closes.
   */
  async leave(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    for (let local = 0; local < this.size; local++) {
      if (this.joined[local] === 1) this.sockets[local]!.send(QUIT);
      if (local % LEAVE_BATCH === LEAVE_BATCH - 1) await Bun.sleep(LEAVE_PAUSE_MS);
    }
    await Bun.sleep(LEAVE_PAUSE_MS);
  }

  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    for (const s of this.sockets) s.close();
  }

  /** Address-validation challenges answered. */
  challenges = 0;
  /** Names the relay refused (taken, full): those clients are given up. */
  namesRefused = 0;

  /** Cold path, until a client has joined: a challenge is answered, a refusal gives the client up, anything else joins it. */
  screen(local: number, datagram: Uint8Array): void {
    const text = decoder.decode(datagram);
    switch (classifyJoinReply(text)) {
      case JoinReply.challenge:
        this.challenges++;
        this.sendText(local, challengeReply(text)!);
        return;
      case JoinReply.refused:
        this.namesRefused++;
        this.attempts[local] = MAX_ATTEMPTS; // the next join tick gives it up
        this.nextTryMs[local] = 0;
        return;
      default:
        this.markJoined(local);
    }
  }

  /** ICMP port or host unreachable on a client's socket. */
  markRefused(local: number): void {
    this.unreachable++;
    if (this.refusedBy[local] === 0) {
      this.refusedBy[local] = 1;
      this.refused++;
    }
  }

  private sendName(local: number, now: number): void {
    const attempt = this.attempts[local]!;
    this.attempts[local] = attempt + 1;
    if (attempt === 0) this.firstTryMs[local] = now;
    const backoff = Math.min(MAX_RTO_MS, this.rtoMs * 2 ** attempt);
    this.nextTryMs[local] = now + backoff * (0.8 + 0.4 * Math.random());
    this.sends++;
    this.sendText(local, clientName(this.id(local), this.setup.runTag));
  }

  private sendText(local: number, text: string): void {
    try {
      // sendMany, not send: when the ICMP error an earlier send earned is still queued (the `error`
      // callback has not taken it yet), sendMany throws ECONNREFUSED where send would swallow it (Bun 1.4.5).
      this.sockets[local]!.sendMany([utf8.encode(text)]);
    } catch (err) {
      if ((err as { code?: string }).code !== "ECONNREFUSED") throw err;
      this.markRefused(local);
    }
  }
}

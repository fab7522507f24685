// Real loopback recipients for the socket benchmarks: a drainer child process driven over IPC, one request at a time.

import { resolve } from "node:path";

/** What the bench process asks the drainer. */
export type DrainerCommand =
  | { op: "open"; count: number }
  | { op: "reach"; total: number; timeoutMs: number }
  | { op: "join"; relayPort: number; from: number; to: number }
  | { op: "quiet"; ms: number }
  | { op: "line"; relayPort: number; text: string; tag: number; expect: number; timeoutMs: number };

/** The drainer's answer to each command, in order. */
export type DrainerReply =
  | { op: "open"; ports: number[] }
  | { op: "reach"; received: number }
  | { op: "join" }
  | { op: "quiet"; received: number }
  | { op: "line"; got: number; firstNs: number; lastNs: number };

/** Arrival of one relayed line at its recipients, in ns after the sender's `send`. */
export interface LineArrival {
  readonly got: number;
  readonly firstNs: number;
  readonly lastNs: number;
}

const DRAINER = resolve(import.meta.dir, "drainer.ts");
/** No request may take longer than this: a stuck drainer fails the benchmark instead of hanging it. */
const REQUEST_DEADLINE_MS = 30_000;

/**
 * `count` UDP sockets on 127.0.0.1 in a child process, each draining into a shared counter.
 * The kernel path to them is the real one; their draining costs the other core, not the bench's.
 */
export class Recipients {
  private readonly waiting: { resolve: (r: DrainerReply) => void; reject: (e: Error) => void }[] = [];
  private constructor(private readonly proc: Bun.Subprocess) {}

  /** The recipient ports, in socket order. */
  ports: readonly number[] = [];
  /** Datagrams the drainer had received at its last answer. */
  received = 0;

  /** Spawns the drainer and opens `count` recipient sockets. */
  static async spawn(count: number): Promise<Recipients> {
    let self: Recipients | undefined;
    const proc = Bun.spawn([process.execPath, DRAINER], {
      stdio: ["ignore", "inherit", "inherit"],
      serialization: "json",
      ipc: (message) => self?.settle(message as DrainerReply),
    });
    self = new Recipients(proc);
    void proc.exited.then((code) => self.fail(new Error(`drainer exited with code ${code}`)));
    const opened = await self.request({ op: "open", count });
    if (opened.op === "open") self.ports = opened.ports;
    return self;
  }

  /** Waits (up to `timeoutMs`) until `total` datagrams have arrived in all; returns how many have. */
  async reach(total: number, timeoutMs: number): Promise<number> {
    const r = await this.request({ op: "reach", total, timeoutMs });
    if (r.op === "reach") this.received = r.received;
    return this.received;
  }

  /** Sockets `from` to `to` (exclusive) send their names to a relay on 127.0.0.1:`relayPort`. */
  async join(relayPort: number, from: number, to: number): Promise<void> {
    await this.request({ op: "join", relayPort, from, to });
  }

  /** Resolves once nothing has arrived for `ms`; returns the datagrams received so far. */
  async quiet(ms: number): Promise<number> {
    const r = await this.request({ op: "quiet", ms });
    if (r.op === "quiet") this.received = r.received;
    return this.received;
  }

  /**
   * Socket 0 sends `text` to the relay; resolves when `expect` recipients got the relayed line
   * (recognised by its last byte, `tag`) or after `timeoutMs`, with first and last arrival times.
   */
  async line(relayPort: number, text: string, tag: number, expect: number, timeoutMs: number): Promise<LineArrival> {
    const r = await this.request({ op: "line", relayPort, text, tag, expect, timeoutMs });
    if (r.op !== "line") throw new Error(`drainer answered ${r.op} to line`);
    return r;
  }

  close(): void {
    this.proc.kill();
  }

  private request(cmd: DrainerCommand): Promise<DrainerReply> {
    return new Promise((resolve, reject) => {
      // A missed answer would pair every later answer with the wrong request: give up on the drainer altogether.
      const timer = setTimeout(() => {
        this.fail(new Error(`drainer did not answer ${cmd.op} within ${REQUEST_DEADLINE_MS} ms`));
        this.proc.kill();
      }, REQUEST_DEADLINE_MS);
      this.waiting.push({
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.proc.send(cmd);
    });
  }

  private settle(reply: DrainerReply): void {
    this.waiting.shift()?.resolve(reply);
  }

  private fail(err: Error): void {
    for (const w of this.waiting.splice(0)) w.reject(err);
  }
}

// The bus: a NATS core connection carrying every line said to everyone between relay nodes, at most once.

import { connect, headers, type MsgHdrs, type NatsConnection, type PublishOptions } from "@nats-io/transport-node";
import type { LineSink } from "../sink.ts";

/** The subject every node publishes its lines to and subscribes to. */
export const LINES_SUBJECT = "chat.lines";
/** Header naming the node a line comes from. */
export const NODE_HEADER = "Relay-Node";

/** The bus could not be reached at start-up. The message names the URL and the reason. */
export class BusError extends Error {
  override readonly name = "BusError";
}

/** Bus counters, for the summary line. */
export interface BusCounters {
  /** Lines handed to NATS. */
  published: number;
  /** Lines from other nodes fanned out here. */
  received: number;
  /** Lines not published because the bus was down: core NATS has no replay, so they never reach other nodes. */
  lost: number;
  /** Lines from other nodes refused because they exceed this node's --max-datagram. */
  tooLong: number;
  reconnects: number;
}

// Reconnect fast and forever: a relay outlives any NATS outage. Pings find a silently dead server within ~15 s.
const RECONNECT_WAIT_MS = 250;
const PING_INTERVAL_MS = 5000;
const MAX_PINGS_OUT = 3;
const CONNECT_TIMEOUT_MS = 3000;

/**
 * Publishes this node's lines (`line`, as a LineSink) and hands other nodes' lines to `onRemoteLine`. `noEcho`
 * keeps the server from sending a node its own lines back; the node header double-checks. While disconnected,
 * lines are counted as lost instead of piling up in the client's buffer, which would be thrown away on reconnect.
 */
export class Bus implements LineSink {
  readonly counters: BusCounters = { published: 0, received: 0, lost: 0, tooLong: 0, reconnects: 0 };
  /** Called after every reconnect, once the subscription is back (presence resyncs here). */
  onReconnect: () => void = () => {};
  private up = true;
  private lostAtDisconnect = 0;
  private readonly publishOptions: Partial<PublishOptions>;

  private constructor(
    readonly connection: NatsConnection,
    readonly url: string,
    readonly nodeId: string,
    private readonly log: (line: string) => void,
  ) {
    const hdrs: MsgHdrs = headers();
    hdrs.set(NODE_HEADER, nodeId);
    // One options object for every publish: the client encodes the headers on each call and keeps no reference.
    this.publishOptions = { headers: hdrs };
  }

  /** Connects to `url`, subscribes, and starts logging connection changes. Throws BusError if unreachable. */
  static async open(url: string, nodeId: string, maxLineBytes: number, onRemoteLine: (frame: Uint8Array) => void, log: (line: string) => void): Promise<Bus> {
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: url,
        name: `udp-relay ${nodeId}`,
        noEcho: true,
        timeout: CONNECT_TIMEOUT_MS,
        maxReconnectAttempts: -1,
        reconnectTimeWait: RECONNECT_WAIT_MS,
        pingInterval: PING_INTERVAL_MS,
        maxPingOut: MAX_PINGS_OUT,
      });
    } catch (err) {
      throw new BusError(`cannot reach the bus at ${url}: ${(err as Error).message}`);
    }
    const bus = new Bus(nc, url, nodeId, log);
    const counters = bus.counters;
    nc.subscribe(LINES_SUBJECT, {
      callback: (err, msg) => {
        if (err !== null || msg.headers?.get(NODE_HEADER) === nodeId) return;
        const frame = msg.data;
        if (frame.length > maxLineBytes || frame.length === 0) {
          counters.tooLong++;
          return;
        }
        counters.received++;
        onRemoteLine(frame);
      },
    });
    void bus.watchStatus();
    return bus;
  }

  /** Publishes a line said to everyone here. The bytes are copied: the client holds them until its next flush. */
  line(bytes: Uint8Array): void {
    if (!this.up) {
      this.counters.lost++;
      return;
    }
    this.counters.published++;
    this.connection.publish(LINES_SUBJECT, bytes.slice(), this.publishOptions);
  }

  /** Whether the connection to the bus is up (lines are published, not counted lost). */
  get connected(): boolean {
    return this.up;
  }

  /** Sends what is buffered and closes, waiting at most `timeoutMs`. */
  async close(timeoutMs = 1000): Promise<void> {
    if (this.connection.isClosed()) return;
    await Promise.race([this.connection.drain().catch(() => {}), Bun.sleep(timeoutMs)]);
    if (!this.connection.isClosed()) await this.connection.close().catch(() => {});
  }

  /** ` bus_published=... bus_received=... bus_lost=...`, for the summary line. */
  summary(): string {
    const c = this.counters;
    return ` bus_published=${c.published} bus_received=${c.received} bus_lost=${c.lost} bus_reconnects=${c.reconnects}${c.tooLong > 0 ? ` bus_too_long=${c.tooLong}` : ""}`;
  }

  private async watchStatus(): Promise<void> {
    for await (const status of this.connection.status()) {
      switch (status.type) {
        case "disconnect":
          if (!this.up) break;
          this.up = false;
          this.lostAtDisconnect = this.counters.lost;
          this.log(`[SERVER] Bus: lost ${status.server}; local chat goes on, lines for other relays are lost until it is back.`);
          break;
        case "reconnect":
          this.up = true;
          this.counters.reconnects++;
          this.log(`[SERVER] Bus: reconnected to ${status.server}; ${this.counters.lost - this.lostAtDisconnect} lines were lost while away.`);
          this.onReconnect();
          break;
        case "close":
          this.up = false;
          return;
        default:
          break;
      }
    }
  }
}

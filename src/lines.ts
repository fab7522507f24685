// Lines said to everyone: a datagram's text checked (length, control characters, UTF-8, blank), refused with the right notice, or broadcast.

import { isUtf8 } from "node:buffer";
import { fanoutCap, type RelayConfig } from "./config.ts";
import type { FanOut } from "./fanout.ts";
import { DeliveryBudget } from "./limits.ts";
import { checkText, lineEnd, TextCheck } from "./protocol/text.ts";
import { encode, notice } from "./protocol/wire.ts";
import type { Client, Registry } from "./registry.ts";
import type { LineSink } from "./sink.ts";
import type { RelayStats } from "./stats.ts";

/** What `check` returns for a datagram it refused (counted, and the sender told why unless it was empty). */
export const REFUSED = -1;

/**
 * The one place a registered client's text is checked and a line goes out to everyone. Chat lines come
 * here straight from the relay; the chat sends its commands' text through `check`, and `/me` and its
 * notices through `broadcast` and `announce`, so every line said to everyone also reaches the sink.
 */
export class Lines {
  private readonly maxDatagram: number;
  private readonly echo: boolean;
  private readonly budget: DeliveryBudget | undefined;
  private readonly controlNotice = encode(notice.controlChars);
  private readonly utf8Notice = encode(notice.invalidUtf8);
  private readonly serverNotice = encode(notice.serverLookalike);

  constructor(
    config: RelayConfig,
    private readonly registry: Registry,
    private readonly fanOut: FanOut,
    private readonly stats: RelayStats,
    /** Every line said to everyone also goes here: the console, and with a bus the rest of the mesh. */
    private readonly sink: LineSink | undefined,
  ) {
    this.maxDatagram = config.maxDatagramBytes;
    this.echo = config.echo;
    const cap = fanoutCap(config);
    this.budget = cap > 0 ? new DeliveryBudget(cap) : undefined;
  }

  /**
   * Where the text of `payload` ends (its line end dropped), or REFUSED: empty or blank (counted, nobody
   * told), too long once `overheadBytes` are added (the sender's prefix for a chat line, nothing for a
   * command), a control character, or not UTF-8 (counted, and the sender told).
   */
  // hot path: a length, one byte scan, a native isUtf8
  check(client: Client, payload: Uint8Array, truncated: boolean, overheadBytes: number): number {
    const stats = this.stats;
    const end = lineEnd(payload);
    if (end === 0) {
      stats.drops.empty++;
      return REFUSED;
    }
    if (truncated || overheadBytes + end > this.maxDatagram) {
      stats.drops.too_long++;
      this.fanOut.sendTo(encode(notice.tooLong(this.maxDatagram - client.prefix.length)), client.port, client.address);
      return REFUSED;
    }
    const text = checkText(payload, end);
    // A command is not shown as typed: /nick has its own server rule, and "//[SERVER]" comes back here as a line.
    if (text !== TextCheck.ok && (text !== TextCheck.server || overheadBytes > 0)) {
      if (text === TextCheck.blank) stats.drops.empty++;
      else {
        stats.drops.control_chars++; // bidi controls and server look-alikes too
        this.fanOut.sendTo(text === TextCheck.server ? this.serverNotice : this.controlNotice, client.port, client.address);
      }
      return REFUSED;
    }
    if (!isUtf8(payload)) {
      stats.drops.invalid_utf8++;
      this.fanOut.sendTo(this.utf8Notice, client.port, client.address);
      return REFUSED;
    }
    return end;
  }

  /** A chat line from a registered client: checked, framed behind its name and sent to everyone. */
  // hot path
  relay(client: Client, payload: Uint8Array, truncated: boolean, nowMs: number): void {
    const end = this.check(client, payload, truncated, client.prefix.length);
    if (end === REFUSED || !this.mayBroadcast(nowMs)) return;
    // The line end is not text. The view is one small allocation, made only for lines that carry one (nc's).
    const text = end === payload.length ? payload : payload.subarray(0, end);
    const frame = this.fanOut.frame(client.prefix, text);
    this.stats.linesRelayed++;
    client.lines++;
    this.send(client, frame);
  }

  /** A line `client` said that the chat composed (`/me`): to everyone, within --max-fanout-rate. */
  broadcast(client: Client, frame: Uint8Array, nowMs: number): void {
    if (this.mayBroadcast(nowMs)) this.send(client, frame);
  }

  /**
   * Whether --max-fanout-rate has room for a notice to everyone now, charging it if so. Notices are fan-out
   * too; the announcer holds back what does not fit and summarises it later, so nothing is counted dropped.
   */
  mayAnnounce(nowMs: number): boolean {
    return this.budget === undefined || this.budget.take(this.registry.size, nowMs);
  }

  /** A notice for everyone (a join, leave, rename or timeout, charged by `mayAnnounce`), heard by its subject too. */
  announce(frame: Uint8Array): void {
    this.fanOut.broadcast(frame);
    if (this.sink !== undefined) this.sink.line(frame);
  }

  // --max-fanout-rate: a broadcast costs a delivery per recipient.
  private mayBroadcast(nowMs: number): boolean {
    if (this.budget === undefined || this.budget.take(this.registry.size, nowMs)) return true;
    this.stats.drops.fanout_limited++;
    return false;
  }

  // hot path: to everyone (or everyone else, --no-echo), then the sink
  private send(client: Client, frame: Uint8Array): void {
    if (this.echo) this.fanOut.broadcast(frame);
    else this.fanOut.broadcastExcept(frame, client);
    if (this.sink !== undefined) this.sink.line(frame);
  }
}

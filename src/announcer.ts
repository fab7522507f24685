// Notices to everyone about who comes and goes: by name while they are few, as one summary a window when they are many.

import type { FanOut } from "./fanout.ts";
import type { Lines } from "./lines.ts";
import type { Periodic, PeriodicJob } from "./periodic.ts";
import { encode, encodeJoin, type EventCounts, eventSummary, notice } from "./protocol/wire.ts";
import type { Client } from "./registry.ts";

/** How long a window lasts: a burst of joins or leaves costs everyone at most one summary this often. */
export const EVENT_WINDOW_MS = 1000;

type Kind = keyof EventCounts;

/**
 * Every join, leave, rename and timeout notice costs one delivery per client, so a storm of them (a
 * netsplit, a load run leaving, churn from one host) would cost events × clients. The first
 * `namedPerWindow` events of a window (--notice-rate), and only while --max-fanout-rate has room, are announced by
 * name exactly as ever, so a lone join or leave reads as it always has; later ones are counted, and one
 * summary goes out when the window closes, with names while they fit one datagram. A joiner always hears its
 * own `[SERVER] <name> has joined the chat.` at once: clients wait for that line.
 */
export class Announcer {
  private windowEndMs = Number.NEGATIVE_INFINITY;
  private named = 0;
  private readonly counts: EventCounts = { joined: 0, left: 0, renamed: 0, timedOut: 0 };
  private names: { [K in Kind]: string[] } = { joined: [], left: [], renamed: [], timedOut: [] };
  /** Bytes the pending names would take listed; past the datagram size they are not kept. */
  private namesBytes = 0;
  private listable = true;
  private pending = 0;
  /** Sends the window's summary when it closes: periodic work, so a flooded relay still sends it. */
  private readonly summary: PeriodicJob;

  constructor(
    private readonly lines: Lines,
    private readonly fanOut: FanOut,
    private readonly maxDatagramBytes: number,
    /** Events announced by name in each window; the rest of the window's events wait for its summary. */
    private readonly namedPerWindow: number,
    private readonly periodic: Periodic,
  ) {
    this.summary = periodic.once(this.tick);
  }

  /** `client` joined: everyone hears it, by name or in the window's summary; the joiner hears its own line now. */
  joined(client: Client, nowMs: number): void {
    const frame = encodeJoin(client.name);
    if (this.byName(nowMs)) this.lines.announce(frame);
    else {
      this.fanOut.sendTo(frame, client.port, client.address);
      this.add("joined", client.name);
    }
  }

  /** `name` left with /quit (or lost a name race elsewhere). */
  left(name: string, nowMs: number): void {
    if (this.byName(nowMs)) this.lines.announce(encode(notice.left(name)));
    else this.add("left", name);
  }

  /** A client renamed itself. */
  renamed(oldName: string, newName: string, nowMs: number): void {
    if (this.byName(nowMs)) this.lines.announce(encode(notice.renamed(oldName, newName)));
    else this.add("renamed", `${oldName} → ${newName}`);
  }

  /** The idle sweep removed `name`. */
  timedOut(name: string, nowMs: number): void {
    if (this.byName(nowMs)) this.lines.announce(encode(notice.timedOut(name)));
    else this.add("timedOut", name);
  }

  /** Sends a pending summary now (shutdown); none is scheduled after. */
  flush(): void {
    this.periodic.at(this.summary, Number.POSITIVE_INFINITY);
    if (this.pending > 0) this.sendSummary();
  }

  /** Schedules no summary, sending nothing. */
  close(): void {
    this.periodic.remove(this.summary);
  }

  // Whether this event may go out by name now. A summary still owed from a closed window goes first, so
  // notices never arrive out of order.
  private byName(nowMs: number): boolean {
    if (nowMs >= this.windowEndMs) {
      if (this.pending > 0 && !this.trySummary(nowMs)) return false;
      this.windowEndMs = nowMs + EVENT_WINDOW_MS;
      this.named = 0;
    }
    if (this.pending > 0 || this.named >= this.namedPerWindow || !this.lines.mayAnnounce(nowMs)) return false;
    this.named++;
    return true;
  }

  private add(kind: Kind, name: string): void {
    this.counts[kind]++;
    this.pending++;
    if (this.listable) {
      this.namesBytes += Buffer.byteLength(name) + 2;
      if (this.namesBytes > this.maxDatagramBytes) {
        this.listable = false;
        this.names = { joined: [], left: [], renamed: [], timedOut: [] };
      } else this.names[kind].push(name);
    }
    if (this.summary.dueMs === Number.POSITIVE_INFINITY) this.periodic.at(this.summary, this.windowEndMs);
  }

  private readonly tick = (nowMs: number): void => {
    if (this.pending === 0) return;
    if (this.trySummary(nowMs)) {
      this.windowEndMs = nowMs + EVENT_WINDOW_MS;
      this.named = this.namedPerWindow; // a summary just went out: this window announces nothing more by name
    } else {
      // --max-fanout-rate has no room: try again a window later, still counting.
      this.windowEndMs = nowMs + EVENT_WINDOW_MS;
      this.periodic.at(this.summary, this.windowEndMs);
    }
  };

  private trySummary(nowMs: number): boolean {
    if (!this.lines.mayAnnounce(nowMs)) return false;
    this.sendSummary();
    return true;
  }

  private sendSummary(): void {
    let frame = this.listable ? encode(eventSummary(this.counts, this.names)) : undefined;
    if (frame === undefined || frame.length > this.maxDatagramBytes) frame = encode(eventSummary(this.counts));
    this.lines.announce(frame);
    this.counts.joined = this.counts.left = this.counts.renamed = this.counts.timedOut = 0;
    this.names = { joined: [], left: [], renamed: [], timedOut: [] };
    this.namesBytes = 0;
    this.listable = true;
    this.pending = 0;
    this.periodic.at(this.summary, Number.POSITIVE_INFINITY);
  }
}

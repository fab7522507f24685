// Replies to addresses that are not registered: never to one that speaks as a server, at most one a second each.

import type { FanOut } from "./fanout.ts";
import { WindowCounter } from "./limits.ts";
import { SERVER_TAG } from "./protocol/wire.ts";
import type { RelayStats } from "./stats.ts";

const TAG = new TextEncoder().encode(SERVER_TAG);

/**
 * Whether a datagram starts with `[SERVER]`. No client's first datagram does (such a name is refused anyway):
 * it is another relay's notice, or one spoofed to look like it. Answering it would start two relays (or a relay
 * and any UDP echo service) refusing each other forever, so it is dropped unanswered.
 */
export function speaksAsServer(payload: Uint8Array): boolean {
  if (payload.length < TAG.length) return false;
  for (let i = 0; i < TAG.length; i++) if (payload[i] !== TAG[i]) return false;
  return true;
}

/**
 * Sends refusals, challenges and "full" notices to unregistered addresses, at most one per address and port
 * per one-second window: a spoofed source can draw at most that from the relay, whatever it sends. The table
 * is bounded like every per-second table here (limits.ts): past its size, a new source gets no reply this second.
 */
export class StrangerReplies {
  private readonly recent = new WindowCounter(1, 0);

  constructor(
    private readonly fanOut: FanOut,
    private readonly stats: RelayStats,
  ) {}

  /** Sends `frame` to `address`:`port` unless it had a reply this window (then counts `reply_limited`, false). */
  send(frame: Uint8Array, port: number, address: string, nowMs: number): boolean {
    if (!this.recent.allow(`${address} ${port}`, nowMs)) {
      this.stats.drops.reply_limited++;
      return false;
    }
    this.fanOut.sendTo(frame, port, address);
    return true;
  }
}

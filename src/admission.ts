// The gate every datagram from an unregistered address passes: the unknown-source budget, then an admission (the chat's, or an injected one).

import type { Chat } from "./chat.ts";
import { perSourceLimits, type RelayConfig } from "./config.ts";
import type { FanOut } from "./fanout.ts";
import { prefixKey, WindowCounter } from "./limits.ts";
import type { RelayStats } from "./stats.ts";
import { speaksAsServer } from "./strangers.ts";

/** Takes a datagram from an address that is not registered, once it is within the unknown-source budget. */
export interface Admission {
  admit(payload: Uint8Array, port: number, address: string, truncated: boolean, nowMs: number): void;
  /** Stops whatever timers it runs; called when the relay closes. */
  close?(): void;
}

/** What an injected admission is built from: the relay's parts, made before the socket sees a datagram. */
export interface AdmissionParts {
  readonly config: RelayConfig;
  readonly chat: Chat;
  readonly fanOut: FanOut;
  readonly stats: RelayStats;
}

/** Builds an admission for one relay (address validation, defence/validation.ts). */
export type AdmissionFactory = (parts: AdmissionParts) => Admission;

/**
 * The budget on datagrams from unregistered addresses (--unknown-rate per /24 or /64, --unknown-rate-total),
 * in front of `admission`. Nothing is stored per address: the budget is a per-second table, cleared every
 * second and bounded. The chat itself is the admission unless addresses are verified.
 */
export class Gate {
  private readonly unknown: WindowCounter;
  private readonly perPrefix: boolean;

  constructor(
    config: RelayConfig,
    private readonly stats: RelayStats,
    private readonly admission: Admission,
  ) {
    this.perPrefix = perSourceLimits(config);
    this.unknown = new WindowCounter(this.perPrefix ? config.unknownPerPrefixPerSecond : 0, config.unknownPerSecond);
  }

  /** A datagram from an address that is not registered. */
  admit(payload: Uint8Array, port: number, address: string, truncated: boolean, nowMs: number): void {
    // Never answer a relay with a relay: such a datagram is another server's notice, not a client's.
    if (speaksAsServer(payload)) {
      this.stats.drops.server_tag++;
      return;
    }
    if (!this.unknown.allow(this.perPrefix ? prefixKey(address) : "", nowMs)) {
      this.stats.drops.unknown_limited++;
      return;
    }
    this.admission.admit(payload, port, address, truncated, nowMs);
  }

  /** Stops the admission's timers. */
  close(): void {
    this.admission.close?.();
  }
}

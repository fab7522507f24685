// The gate for datagrams from unregistered addresses: per-prefix and global budgets, then address validation or the chat's admit.

import { isUtf8 } from "node:buffer";
import type { Chat } from "../chat.ts";
import type { RelayConfig } from "../config.ts";
import type { FanOut } from "../fanout.ts";
import { prefixKey, WindowCounter } from "./limits.ts";
import { encode, notice } from "../protocol.ts";
import type { RelayStats } from "../stats.ts";
import { lineEnd } from "../text.ts";
import { AddressVerifier, formatAnswer, mayBeAnswer, parseAnswer, verifies } from "./verify.ts";

/**
 * Everything an unregistered address sends passes here first. Nothing is stored per address: the budgets
 * are per-second tables, cleared every second and bounded; a challenge is computed, sent and forgotten.
 */
export class Gate {
  private readonly unknown: WindowCounter;
  private readonly perPrefix: boolean;
  private readonly verifier: AddressVerifier | undefined;
  private readonly rotation: ReturnType<typeof setInterval> | undefined;
  private readonly decoder = new TextDecoder();

  constructor(
    config: RelayConfig,
    private readonly chat: Chat,
    private readonly fanOut: FanOut,
    private readonly stats: RelayStats,
  ) {
    this.perPrefix = config.rateLimitPerSecond > 0;
    this.unknown = new WindowCounter(this.perPrefix ? config.unknownPerPrefixPerSecond : 0, config.unknownPerSecond);
    if (verifies(config.verifyAddress, config.host)) {
      const verifier = new AddressVerifier();
      this.verifier = verifier;
      this.rotation = setInterval(() => verifier.rotate(), config.verifyWindowMs);
      this.rotation.unref();
    }
  }

  /** Whether new addresses must answer a challenge before they join. */
  get verifying(): boolean {
    return this.verifier !== undefined;
  }

  /** A datagram from an address that is not registered. */
  admit(payload: Uint8Array, port: number, address: string, truncated: boolean, nowMs: number): void {
    if (!this.unknown.allow(this.perPrefix ? prefixKey(address) : "", nowMs)) {
      this.stats.drops.unknown_limited++;
      return;
    }
    if (this.verifier === undefined) this.chat.admit(payload, port, address, truncated, nowMs);
    else this.verify(this.verifier, payload, port, address, truncated, nowMs);
  }

  /** Stops rotating the secret. */
  close(): void {
    if (this.rotation !== undefined) clearInterval(this.rotation);
  }

  // A valid answer joins; anything else is a name to challenge (or the remembered name of a client come back).
  private verify(verifier: AddressVerifier, payload: Uint8Array, port: number, address: string, truncated: boolean, nowMs: number): void {
    let name: string | undefined;
    if (!truncated && mayBeAnswer(payload) && isUtf8(payload)) {
      const answer = parseAnswer(this.decoder.decode(payload.subarray(0, lineEnd(payload))));
      if (answer !== undefined) {
        if (verifier.check(address, port, answer.name, answer.code)) {
          this.chat.joinVerified(answer.name, port, address, nowMs);
          return;
        }
        // Wrong or expired: a fresh code for the same name, so a person who was slow just answers again.
        this.stats.drops.bad_code++;
        name = this.chat.screenText(answer.name, port, address);
        if (name === undefined) return;
      }
    }
    name ??= this.chat.rememberedName(address, port, nowMs) ?? this.chat.screenName(payload, port, address, truncated);
    if (name === undefined) return;
    this.stats.challenges++;
    this.fanOut.sendTo(encode(notice.challenge(formatAnswer(verifier.code(address, port, name), name))), port, address);
  }
}

// Address validation as the relay's admission: a new address is sent a join code, and only an answer that echoes it joins.

import { isUtf8 } from "node:buffer";
import type { Admission, AdmissionFactory, AdmissionParts } from "../admission.ts";
import type { Chat } from "../chat.ts";
import { formatAnswer, mayBeAnswer, parseAnswer } from "../protocol/answer.ts";
import { lineEnd } from "../protocol/text.ts";
import { encode, notice } from "../protocol/wire.ts";
import type { RelayStats } from "../stats.ts";
import { AddressVerifier } from "./verify.ts";

/**
 * Stands between the unknown-source budget and the chat when addresses are verified. Nothing is stored per
 * address: a challenge is computed, sent and forgotten; the secret rotates every `verifyWindowMs`.
 */
export class AddressValidation implements Admission {
  private readonly verifier = new AddressVerifier();
  private readonly rotation: ReturnType<typeof setInterval>;
  private readonly decoder = new TextDecoder();
  private readonly chat: Chat;
  private readonly stats: RelayStats;

  constructor({ config, chat, stats }: AdmissionParts) {
    this.chat = chat;
    this.stats = stats;
    const verifier = this.verifier;
    this.rotation = setInterval(() => verifier.rotate(), config.verifyWindowMs);
    this.rotation.unref();
  }

  // A valid answer joins; anything else is a name to challenge (or the remembered name of a client come back).
  admit(payload: Uint8Array, port: number, address: string, truncated: boolean, nowMs: number): void {
    let name: string | undefined;
    if (!truncated && mayBeAnswer(payload) && isUtf8(payload)) {
      const answer = parseAnswer(this.decoder.decode(payload.subarray(0, lineEnd(payload))));
      if (answer !== undefined) {
        if (this.verifier.check(address, port, answer.name, answer.code)) {
          this.chat.joinVerified(answer.name, port, address, nowMs);
          return;
        }
        // Wrong or expired: a fresh code for the same name, so a person who was slow just answers again.
        this.stats.drops.bad_code++;
        name = this.chat.screenText(answer.name, port, address, nowMs);
        if (name === undefined) return;
      }
    }
    name ??= this.chat.rememberedName(address, port, nowMs) ?? this.chat.screenName(payload, port, address, truncated, nowMs);
    if (name === undefined) return;
    const challenge = encode(notice.challenge(formatAnswer(this.verifier.code(address, port, name), name)));
    if (this.chat.replyToStranger(challenge, port, address, nowMs)) this.stats.challenges++;
  }

  /** Stops rotating the secret. */
  close(): void {
    clearInterval(this.rotation);
  }
}

/** `RelayOptions.admission` for a relay that verifies addresses (`verifies` in config.ts says when). */
export const validateAddresses: AdmissionFactory = (parts) => new AddressValidation(parts);

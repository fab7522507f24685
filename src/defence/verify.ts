// Address validation: the stateless join code (a truncated HMAC over address, port, name and time window) and its wire forms, for the relay and its clients.

import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { cleanName, nameKey } from "../names.ts";
import { notice } from "../protocol.ts";

/** `--verify-address`: `auto` checks addresses on every bind but loopback. */
export const VerifyMode = { on: "on", off: "off", auto: "auto" } as const;
export type VerifyMode = (typeof VerifyMode)[keyof typeof VerifyMode];

/** Crockford's base32: no I, L, O or U, so a code read aloud or typed from a screen survives. */
export const CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/** Characters in a code, shown as two groups of four (`7KQM-2XPD`): 40 bits. */
export const CODE_CHARS = 8;
const GROUP_CHARS = CODE_CHARS / 2;
const CODE_DASH = "-";
/** A code and the name after it: `XXXX-XXXX ` is this long. */
const ANSWER_HEAD_CHARS = CODE_CHARS + 2;
const SECRET_BYTES = 32;
/** 5 MAC bytes = 40 bits = 8 base32 characters. */
const MAC_BYTES = (CODE_CHARS * 5) / 8;

// What the challenge notice is around the expected reply: `[SERVER] Reply with ` REPLY ` to join.`
const [CHALLENGE_HEAD, CHALLENGE_TAIL] = notice.challenge("\0").split("\0") as [string, string];

/** Whether a relay bound to `host` checks addresses in `mode`. */
export function verifies(mode: VerifyMode, host: string): boolean {
  return mode === VerifyMode.on || (mode === VerifyMode.auto && !isLoopback(host));
}

/** 127.0.0.0/8, ::1 and IPv4-mapped loopback: nobody off this host can reach a relay bound there. */
export function isLoopback(host: string): boolean {
  return host.startsWith("127.") || host === "::1" || host.startsWith("::ffff:127.");
}

/**
 * The reply the relay asks for in `line`, to send back as is, or undefined if `line` is not a challenge.
 * For clients: the terminal client and the load generator answer with exactly this text.
 */
export function challengeReply(line: string): string | undefined {
  if (line.length <= CHALLENGE_HEAD.length + CHALLENGE_TAIL.length) return undefined;
  if (!line.startsWith(CHALLENGE_HEAD) || !line.endsWith(CHALLENGE_TAIL)) return undefined;
  return line.slice(CHALLENGE_HEAD.length, line.length - CHALLENGE_TAIL.length);
}

/** The answer a client sends: the code, a space, the name it asked for. */
export function formatAnswer(code: string, name: string): string {
  return `${code} ${name}`;
}

/** A parsed answer: the code in canonical form and the name as sent (cleaned). */
export interface Answer {
  readonly code: string;
  readonly name: string;
}

/**
 * Reads `XXXX-XXXX NAME` (the code ignoring case; O taken for 0, I and L for 1, as people type them).
 * Undefined when the text does not have that shape: then it is a name, not an answer.
 */
export function parseAnswer(text: string): Answer | undefined {
  if (text.length <= ANSWER_HEAD_CHARS || text[GROUP_CHARS] !== CODE_DASH || text[CODE_CHARS + 1] !== " ") return undefined;
  let code = "";
  for (let i = 0; i < CODE_CHARS + 1; i++) {
    if (i === GROUP_CHARS) continue;
    const c = canonicalChar(text[i]!);
    if (c === undefined) return undefined;
    code += c;
  }
  const name = cleanName(text.slice(ANSWER_HEAD_CHARS));
  if (name === "") return undefined;
  return { code: `${code.slice(0, GROUP_CHARS)}${CODE_DASH}${code.slice(GROUP_CHARS)}`, name };
}

/** The bytes an answer starts with could be one: `....-.... ` (cold path guard before decoding). */
export function mayBeAnswer(payload: Uint8Array): boolean {
  return payload.length > ANSWER_HEAD_CHARS && payload[GROUP_CHARS] === 0x2d && payload[CODE_CHARS + 1] === 0x20;
}

function canonicalChar(c: string): string | undefined {
  const u = c.toUpperCase();
  if (u === "O") return "0";
  if (u === "I" || u === "L") return "1";
  return CODE_ALPHABET.includes(u) ? u : undefined;
}

/**
 * Issues and checks join codes without storing anything per address. The secret is replaced every window
 * (`rotate`, on the relay's timer); a code is accepted under the current and the previous secret, so it
 * lives between one and two windows. The window is in the key, not in the message.
 */
export class AddressVerifier {
  private current: Uint8Array;
  private previous: Uint8Array;

  constructor(private readonly random: (bytes: number) => Uint8Array = randomBytes) {
    this.current = random(SECRET_BYTES);
    this.previous = random(SECRET_BYTES);
  }

  /** Starts a new window: codes issued two windows ago stop working. */
  rotate(): void {
    this.previous = this.current;
    this.current = this.random(SECRET_BYTES);
  }

  /** The code for `address`:`port` joining as `name`, in this window. */
  code(address: string, port: number, name: string): string {
    return format(mac(this.current, address, port, name));
  }

  /** Whether `code` (canonical, as parseAnswer gives it) is valid for this address, port and name. */
  check(address: string, port: number, name: string, code: string): boolean {
    const given = Buffer.from(code);
    return same(given, this.code(address, port, name)) || same(given, format(mac(this.previous, address, port, name)));
  }
}

function mac(secret: Uint8Array, address: string, port: number, name: string): Uint8Array {
  // Newlines cannot occur in an address, a port or a valid name: the fields cannot run together.
  return createHmac("sha256", secret).update(`${address}\n${port}\n${nameKey(name)}`).digest().subarray(0, MAC_BYTES);
}

function format(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = "";
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += CODE_ALPHABET[(value >>> bits) & 31];
    }
    value &= (1 << bits) - 1;
  }
  return `${out.slice(0, GROUP_CHARS)}${CODE_DASH}${out.slice(GROUP_CHARS)}`;
}

function same(given: Buffer, expected: string): boolean {
  const want = Buffer.from(expected);
  return given.length === want.length && timingSafeEqual(given, want);
}

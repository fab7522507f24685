// The address-validation exchange as a client sees it: the challenge notice, the reply it asks for, and the code's written form.

import { cleanName } from "./names.ts";
import { notice } from "./wire.ts";

/** Crockford's base32: no I, L, O or U, so a code read aloud or typed from a screen survives. */
export const CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/** Characters in a code, shown as two groups of four (`7KQM-2XPD`): 40 bits. */
export const CODE_CHARS = 8;
const GROUP_CHARS = CODE_CHARS / 2;
const CODE_DASH = "-";
/** A code and the name after it: `XXXX-XXXX ` is this long. */
const ANSWER_HEAD_CHARS = CODE_CHARS + 2;

// What the challenge notice is around the expected reply: `[SERVER] Reply with ` REPLY ` to join.`
const [CHALLENGE_HEAD, CHALLENGE_TAIL] = notice.challenge("\0").split("\0") as [string, string];

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

/** `CODE_CHARS` characters of `CODE_ALPHABET` as a code is written: two groups with a dash between. */
export function formatCode(chars: string): string {
  return `${chars.slice(0, GROUP_CHARS)}${CODE_DASH}${chars.slice(GROUP_CHARS)}`;
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
  return { code: formatCode(code), name };
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

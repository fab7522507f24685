// Name rules: what a chat name may be, and the key under which names are unique: case, width and look-alikes folded.

import { confusablesMap } from "./confusables.ts";
import { nameRefusal, SEPARATOR } from "./wire.ts";

/** Why a name is refused. Codes; wire.ts words them for the client. */
export const NameProblem = {
  empty: "empty",
  tooLong: "too_long",
  control: "control",
  separator: "separator",
  slash: "slash",
  server: "server",
  private: "private",
} as const;
export type NameProblem = (typeof NameProblem)[keyof typeof NameProblem];

// Characters a name may not hold, because they are invisible or make a name pass for another on screen:
// control (Cc) and format (Cf) characters, which include the bidi controls, ZWJ/ZWNJ, soft hyphen, word joiner,
// U+061C and the tag characters; every default-ignorable code point (variation selectors among them); the
// Hangul fillers and the braille blank, which render as nothing; line and paragraph separators.
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}\u115F\u1160\u2028\u2029\u2800\u3164\uFFA0]/u;
// The one use of two of them that stays visible: an emoji presentation selector after an emoji, and a ZWJ
// inside an emoji sequence ("👩‍💻"). Taken out before INVISIBLE is tested; after a letter they are refused.
const EMOJI_GLUE = /(?<=\p{Extended_Pictographic}\p{Emoji_Modifier}?)\uFE0F|(?<=\p{Extended_Pictographic}[\p{Emoji_Modifier}\uFE0F]?)\u200D(?=\p{Extended_Pictographic})/gu;
// What nameKey drops before mapping: what INVISIBLE refuses in names, and in text the invisible characters an
// attacker can put before or inside a look-alike server tag.
const IGNORED_IN_KEY = /[\p{Cf}\p{Default_Ignorable_Code_Point}\u115F\u1160\u2800\u3164\uFFA0]/gu;
const UNICODE_SPACE = /\p{Zs}/gu;

/** A name as the client meant it: surrounding white space (the newline `nc` adds) trimmed. */
export function cleanName(raw: string): string {
  return raw.trim();
}

/** Length in characters (Unicode code points), which is what a person counts, not UTF-16 units. */
export function nameLength(name: string): number {
  let n = 0;
  for (const _ of name) n++;
  return n;
}

// Case folding as String can do it: upper then lower, so "ß" and "SS" meet.
function fold(text: string): string {
  return text.toUpperCase().toLowerCase();
}

/**
 * The key names are unique under, and what the server check compares: a confusable skeleton in the manner of
 * Unicode UTS #39. Compatibility-normalised (fullwidth "ＢＯＢ" is "BOB"), case-folded, invisible characters
 * dropped, every character replaced by its prototype from Unicode's confusables table (Cyrillic "а" is "a",
 * "0" is "O", "I" is "l"), then folded again so that prototypes differing only in case meet ("0" and "o").
 * Names are shown as typed; only the key is folded. One function for the registry, remembered names,
 * workers and mesh, so a name is the same name everywhere.
 */
export function nameKey(name: string): string {
  let key = asciiKey(name);
  if (key !== undefined) return key;
  key = keyRound(name);
  // A prototype can lead to another once normalised or folded (a target's "₂" is "2" under NFKC, a capital
  // gamma folds to γ, which maps to y): repeat until nothing changes, at most KEY_ROUNDS (checked in a test).
  for (let round = 1; round < KEY_ROUNDS; round++) {
    const next = keyRound(key);
    if (next === key) break;
    key = next;
  }
  return key;
}

// Names are mostly ASCII, and keying one the general way costs a dozen normalisations (~2 µs): for ASCII, the
// key is the concatenation of each character's key (NFKC and NFD leave ASCII alone, folding is per character,
// nothing ASCII is ignorable), built once from the general rule and checked to be a fixed point.
let asciiKeys: readonly string[] | null | undefined;
function asciiKey(name: string): string | undefined {
  if (asciiKeys === undefined) asciiKeys = buildAsciiKeys();
  if (asciiKeys === null) return undefined;
  let key = "";
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0x80) return undefined;
    key += asciiKeys[c]!;
  }
  return key;
}

// Each ASCII character's full key, or null if any is not itself ASCII and stable (then no fast path at all).
function buildAsciiKeys(): readonly string[] | null {
  const keys: string[] = [];
  for (let c = 0; c < 0x80; c++) {
    let key = String.fromCharCode(c);
    for (let round = 0; round < KEY_ROUNDS; round++) key = keyRound(key);
    if (!/^[\x00-\x7f]*$/.test(key) || keyRound(key) !== key) return null;
    keys.push(key);
  }
  return keys;
}

function keyRound(text: string): string {
  const plain = fold(text.normalize("NFKC")).normalize("NFD").replace(IGNORED_IN_KEY, "");
  return fold(mapConfusables(plain)).normalize("NFD");
}
const KEY_ROUNDS = 3;

function mapConfusables(text: string): string {
  const table = confusablesMap();
  let mapped = "";
  for (const ch of text) mapped += table.get(ch.codePointAt(0)!) ?? ch;
  return mapped;
}

/**
 * How /who sorts names: ignoring case and width only. Not for comparing names: that is `nameKey`, which
 * would sort "mike" as "rnike".
 */
export function nameOrder(name: string): string {
  return fold(name.normalize("NFKC"));
}

// A key that reads as the server's own tag: an opening bracket of any kind (【, ［, ❲, ‹ map or belong here),
// then "server". The keys of "[SERVER]", "[ЅЕRVЕR]" and "【SERVER】" all match.
const SERVER_KEY = "server";
const SERVER_TAG_KEY = /^[\p{Ps}\p{Pi}<]server/u;
const PRIVATE_KEY = "(private)";
const SEPARATOR_KEY = SEPARATOR;

/** Whether a key (of a name or of the start of a line) reads as the server's tag. */
export function isServerTagKey(key: string): boolean {
  return SERVER_TAG_KEY.test(key);
}

/**
 * The first rule `name` (already cleaned) breaks, or undefined if it is acceptable.
 * Uniqueness is the registry's business, not checked here.
 */
export function nameProblem(name: string, maxNameChars: number): NameProblem | undefined {
  if (name === "") return NameProblem.empty;
  if (nameLength(name) > maxNameChars) return NameProblem.tooLong;
  if (INVISIBLE.test(name.replace(EMOJI_GLUE, ""))) return NameProblem.control;
  const key = nameKey(name);
  // "alice ~" would make "alice ~ ~ text", which reads as alice saying "~ text": check with the space after.
  // On the key, with every Unicode space a plain one: no-break spaces and "∼" fake the separator as well.
  if ((key.replace(UNICODE_SPACE, " ") + " ").includes(SEPARATOR_KEY)) return NameProblem.separator;
  if (name.startsWith("/")) return NameProblem.slash;
  if (key === SERVER_KEY || isServerTagKey(key)) return NameProblem.server;
  // "<name> (private) ~ text" is how a private message looks; a name ending so would forge one.
  if (key.endsWith(PRIVATE_KEY)) return NameProblem.private;
  return undefined;
}

/** How the refusal notice words `problem`. */
export function refusalText(problem: NameProblem, maxNameChars: number): string {
  switch (problem) {
    case NameProblem.empty:
    case NameProblem.tooLong:
      return nameRefusal.tooLong(maxNameChars);
    case NameProblem.control:
      return nameRefusal.control;
    case NameProblem.separator:
      return nameRefusal.separator;
    case NameProblem.slash:
      return nameRefusal.slash;
    case NameProblem.server:
      return nameRefusal.server;
    case NameProblem.private:
      return nameRefusal.private;
  }
}

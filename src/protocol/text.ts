// Text rules for chat lines, as byte scans: where a line ends, whether it is blank, whether it holds control characters
// or bidi controls, and whether it could read as a server notice.

import { nameKey } from "./names.ts";

/** What `checkText` found. Codes, not exceptions: the relay counts each and moves on. */
export const TextCheck = {
  /** Printable text: relay it. */
  ok: 0,
  /** Nothing but white space (space, tab, and Unicode's spaces such as U+00A0 and U+3000): ignore it. */
  blank: 1,
  /** A control character other than tab (ESC, BEL, CR, LF inside the line, DEL, C1): refuse it. */
  control: 2,
  /**
   * A bidi control (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C) or a line or paragraph separator
   * (U+2028, U+2029) in a line that is not blank: refuse it, with the control-character notice.
   */
  invisible: 3,
  /**
   * A server tag in any look-alike form ("[SERVER]", "【SERVER】", "[ЅЕRVЕR]", invisible characters before or
   * inside) at the start of the text or after white space, where a wrapped line begins: refuse it.
   */
  server: 4,
} as const;
export type TextCheck = (typeof TextCheck)[keyof typeof TextCheck];

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const DEL = 0x7f;
// C1 controls U+0080–U+009F are 0xC2 0x80–0x9F in UTF-8; some terminals honour U+009B as CSI.
const C1_LEAD = 0xc2;
const C1_FIRST = 0x80;
const C1_LAST = 0x9f;

/**
 * Where the text of a line ends once the line end is dropped: a trailing run of CR and LF bytes is not
 * part of the text. `nc -u` sends "text\n" and Windows tools "text\r\n"; their users expect a line to work.
 */
// hot path: two compares for a line without a line end
export function lineEnd(bytes: Uint8Array): number {
  let end = bytes.length;
  while (end > 0) {
    const b = bytes[end - 1]!;
    if (b !== LF && b !== CR) break;
    end--;
  }
  return end;
}

/**
 * Scans `bytes[0, end)` once. Works on bytes, not decoded text, so the relay never decodes a chat line:
 * every control byte is ASCII, and the multi-byte controls (C1, bidi, line separators) have fixed lead bytes.
 * A word start (the first character, or one after white space) is looked at more closely only when it could
 * open a server tag: for ASCII, a bracket followed by "s" or "S". The caller checks UTF-8 validity separately.
 */
// hot path: one pass over the line; an all-ASCII line never leaves this small loop, and allocates nothing unless
// a word starts with a bracket followed by "s"
export function checkText(bytes: Uint8Array, end: number): TextCheck {
  let blank = true;
  // At the start or just after white space: where a wrapped line could begin.
  let wordStart = true;
  // A look-alike server tag was seen: reported at the end, so that a control character after it still wins.
  let tag = false;
  for (let i = 0; i < end; i++) {
    const b = bytes[i]!;
    if (b >= 0x80) return checkFrom(bytes, i, end, blank, wordStart, tag);
    if (b <= SPACE) {
      if (b < SPACE && b !== TAB) return TextCheck.control;
      wordStart = true;
      continue;
    }
    if (b === DEL) return TextCheck.control;
    if (wordStart) {
      wordStart = false;
      blank = false;
      if (ASCII_BRACKET[b] === 1 && asciiTagAt(bytes, i, end)) tag = true;
    }
  }
  return blank ? TextCheck.blank : tag ? TextCheck.server : TextCheck.ok;
}

// A bracket followed by "s", "S" or a non-ASCII character: worth keying the word.
function asciiTagAt(bytes: Uint8Array, i: number, end: number): boolean {
  if (i + 1 >= end) return false;
  const next = bytes[i + 1]!;
  return (next >= 0x80 || (next | 0x20) === S_LOWER) && serverTagAt(bytes, i, end);
}

// The rest of `checkText` from the first non-ASCII byte at `from`: the same rules, plus Unicode white space,
// C1, bidi controls and line separators, and non-ASCII word starts.
function checkFrom(bytes: Uint8Array, from: number, end: number, blank: boolean, wordStart: boolean, tag: boolean): TextCheck {
  // A U+2028/U+2029 while the line was still blank: harmless if it stays blank (ignored), refused otherwise.
  let lineBreak = false;
  for (let i = from; i < end; i++) {
    const b = bytes[i]!;
    if (b < 0x80) {
      if (b <= SPACE) {
        if (b < SPACE && b !== TAB) return TextCheck.control;
        wordStart = true;
        continue;
      }
      if (b === DEL) return TextCheck.control;
      if (wordStart) {
        wordStart = false;
        if (blank) {
          if (lineBreak) return TextCheck.invisible;
          blank = false;
        }
        if (!tag && ASCII_BRACKET[b] === 1 && asciiTagAt(bytes, i, end)) tag = true;
      }
      continue;
    }
    const width = unicodeSpaceWidth(bytes, i, end);
    if (width > 0) {
      // U+2028 and U+2029 are 0xE2 0x80 0xA8/0xA9: they break the line in some clients.
      if (b === 0xe2 && (bytes[i + 2] === 0xa8 || bytes[i + 2] === 0xa9)) {
        if (!blank) return TextCheck.invisible;
        lineBreak = true;
      }
      wordStart = true;
      i += width - 1;
      continue;
    }
    if (b === C1_LEAD && i + 1 < end) {
      const next = bytes[i + 1]!;
      if (next >= C1_FIRST && next <= C1_LAST) return TextCheck.control;
    }
    if (isBidiControl(bytes, i, end)) return TextCheck.invisible;
    if (wordStart) {
      wordStart = false;
      if (blank) {
        if (lineBreak) return TextCheck.invisible;
        blank = false;
      }
      if (!tag && NEVER_OPENS_TAG[b] === 0 && serverTagAt(bytes, i, end)) tag = true;
    }
    // U+200B ZERO WIDTH SPACE (0xE2 0x80 0x8B) is not white space, but a line may wrap after it.
    if (b === 0xe2 && i + 2 < end && bytes[i + 1] === 0x80 && bytes[i + 2] === 0x8b) wordStart = true;
    // On to the next character. A cut or malformed sequence is isUtf8's to refuse, not this scan's.
    const chars = utf8Width(b);
    if (i + chars <= end) i += chars - 1;
  }
  return blank ? TextCheck.blank : tag ? TextCheck.server : TextCheck.ok;
}

/** Bytes in the UTF-8 sequence a lead byte starts; 1 for a continuation or invalid byte. */
function utf8Width(lead: number): number {
  return lead < 0xc0 ? 1 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : lead < 0xf8 ? 4 : 1;
}

// U+061C ARABIC LETTER MARK (0xD8 0x9C); U+200E, U+200F, U+202A–U+202E (0xE2 0x80 0x8E–0x8F, 0xAA–0xAE);
// U+2066–U+2069 (0xE2 0x81 0xA6–0xA9). They reorder what follows on screen ("Trojan Source").
function isBidiControl(bytes: Uint8Array, i: number, end: number): boolean {
  const b0 = bytes[i]!;
  if (b0 === 0xd8) return i + 1 < end && bytes[i + 1] === 0x9c;
  if (b0 !== 0xe2 || i + 2 >= end) return false;
  const b1 = bytes[i + 1]!;
  const b2 = bytes[i + 2]!;
  if (b1 === 0x80) return b2 === 0x8e || b2 === 0x8f || (b2 >= 0xaa && b2 <= 0xae);
  return b1 === 0x81 && b2 >= 0xa6 && b2 <= 0xa9;
}

const S_LOWER = 0x73;
/** A server tag's key is a bracket, "server", then no letter or digit: its length, and the longest look needed. */
const TAG_KEY_CHARS = 8;
/**
 * The ASCII characters whose key is an opening bracket, so that they may open a server tag. Written out rather
 * than derived at start-up (which would build the confusables map on import); a test derives it from nameKey.
 */
export const ASCII_TAG_OPENERS = "(<[{";
/**
 * UTF-8 lead bytes of blocks where no character can open a server tag (none keys to a bracket or to nothing):
 * 0xC3–0xC9 (U+00C0–U+027F, Latin letters), 0xCE–0xD4 (U+0380–U+053F, Greek, Cyrillic), 0xE4–0xED
 * (U+4000–U+D7FF, CJK ideographs, Yi, Hangul syllables). A word starting there costs one lookup. A test
 * checks every code point of these blocks against nameKey.
 */
export const NEVER_OPENS_TAG = new Uint8Array(0x100);
for (const [from, to] of [[0xc3, 0xc9], [0xce, 0xd4], [0xe4, 0xed]] as const) NEVER_OPENS_TAG.fill(1, from, to + 1);
const ASCII_BRACKET = new Uint8Array(0x80);
for (const c of ASCII_TAG_OPENERS) ASCII_BRACKET[c.charCodeAt(0)] = 1;

/**
 * Whether the word starting at byte `i` reads as the server's tag: the keys (nameKey) of its characters,
 * invisible ones adding nothing, make a bracket, "server", and then no letter or digit. Walks code points
 * only while they can still make a tag, so a line of brackets or of invisible characters costs linear time.
 */
// Cold next to the scan: reached only from a word start that could open a tag, or a non-ASCII word start.
function serverTagAt(bytes: Uint8Array, i: number, end: number): boolean {
  let key = "";
  while (i < end && key.length < TAG_KEY_CHARS) {
    const b0 = bytes[i]!;
    const width = utf8Width(b0);
    if (i + width > end) break;
    // Malformed input decodes to U+FFFD here; isUtf8 refuses the line afterwards anyway.
    let cp = width === 1 ? (b0 < 0x80 ? b0 : 0xfffd) : b0 & (0xff >> (width + 1));
    for (let k = 1; k < width; k++) cp = (cp << 6) | (bytes[i + k]! & 0x3f);
    if (cp > 0x10ffff) cp = 0xfffd;
    if (key === "" && !mayStartTag(cp)) return false;
    key += codePointKey(cp);
    i += width;
    if (key !== "" && !mayOpenTag(key)) return false;
  }
  return TAG_IN_TEXT.test(key);
}
// In text, "[servers are down]" is not the tag: a letter or digit may not follow.
const TAG_IN_TEXT = /^[\p{Ps}\p{Pi}<]server(?![\p{L}\p{N}])/u;

// Whether `key` is still a prefix of some tag key: a bracket, then a prefix of "server".
function mayOpenTag(key: string): boolean {
  const head = key.codePointAt(0)!;
  if (!BRACKET_START.test(String.fromCodePoint(head))) return false;
  const rest = key.slice(head > 0xffff ? 2 : 1, TAG_KEY_CHARS - 1);
  return "server".startsWith(rest);
}
const BRACKET_START = /^[\p{Ps}\p{Pi}<]$/u;

// Whether a word starting with `cp` could be a tag (its key is empty or opens one), remembered: the common
// non-ASCII word start ("日", "é", "🦊") is answered by one map lookup.
const startCache = new Map<number, boolean>();
function mayStartTag(cp: number): boolean {
  let may = startCache.get(cp);
  if (may === undefined) {
    if (startCache.size >= KEY_CACHE_LIMIT) startCache.clear();
    const key = codePointKey(cp);
    may = key === "" || mayOpenTag(key);
    startCache.set(cp, may);
  }
  return may;
}

// nameKey of one code point, remembered: the scan meets the same few characters again and again. Bounded, so
// a sender cannot grow it past KEY_CACHE_LIMIT entries.
const keyCache = new Map<number, string>();
const KEY_CACHE_LIMIT = 4096;
function codePointKey(cp: number): string {
  let key = keyCache.get(cp);
  if (key === undefined) {
    if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.clear();
    key = nameKey(String.fromCodePoint(cp));
    keyCache.set(cp, key);
  }
  return key;
}

/**
 * The UTF-8 width of the white-space character at `i` other than space and tab (what String.prototype.trim
 * removes: U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029, U+202F, U+205F, U+3000, U+FEFF), or 0.
 */
function unicodeSpaceWidth(bytes: Uint8Array, i: number, end: number): number {
  const b0 = bytes[i]!;
  if (b0 === 0xc2) return i + 1 < end && bytes[i + 1] === 0xa0 ? 2 : 0;
  if (i + 2 >= end) return 0;
  const b1 = bytes[i + 1]!;
  const b2 = bytes[i + 2]!;
  if (b0 === 0xe2) {
    if (b1 === 0x80) return (b2 >= 0x80 && b2 <= 0x8a) || b2 === 0xa8 || b2 === 0xa9 || b2 === 0xaf ? 3 : 0;
    return b1 === 0x81 && b2 === 0x9f ? 3 : 0;
  }
  if (b0 === 0xe1) return b1 === 0x9a && b2 === 0x80 ? 3 : 0;
  if (b0 === 0xe3) return b1 === 0x80 && b2 === 0x80 ? 3 : 0;
  if (b0 === 0xef) return b1 === 0xbb && b2 === 0xbf ? 3 : 0;
  return 0;
}

// Text rules for chat lines, as byte scans: where a line ends, whether it is blank, whether it holds control characters.

/** What `checkText` found. Codes, not exceptions: the relay counts each and moves on. */
export const TextCheck = {
  /** Printable text: relay it. */
  ok: 0,
  /** Nothing but white space (space, tab, and Unicode's spaces such as U+00A0 and U+3000): ignore it. */
  blank: 1,
  /** A control character other than tab (ESC, BEL, CR, LF inside the line, DEL, C1): refuse it. */
  control: 2,
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
 * every control byte is ASCII, and the only multi-byte controls (C1) have a fixed lead byte.
 * The caller checks UTF-8 validity separately.
 */
// hot path: one pass over the line, no allocation
export function checkText(bytes: Uint8Array, end: number): TextCheck {
  let blank = true;
  for (let i = 0; i < end; i++) {
    const b = bytes[i]!;
    if (b <= SPACE) {
      if (b < SPACE && b !== TAB) return TextCheck.control;
      continue;
    }
    if (blank && b >= 0x80) {
      // Only while the line is still blank: a line of U+00A0s or U+3000s looks empty too.
      const width = unicodeSpaceWidth(bytes, i, end);
      if (width > 0) {
        i += width - 1;
        continue;
      }
    }
    blank = false;
    if (b === DEL) return TextCheck.control;
    if (b === C1_LEAD && i + 1 < end) {
      const next = bytes[i + 1]!;
      if (next >= C1_FIRST && next <= C1_LAST) return TextCheck.control;
    }
  }
  return blank ? TextCheck.blank : TextCheck.ok;
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

// Text rules for chat lines, as byte scans: where a line ends, whether it is blank, whether it holds control characters.

/** What `checkText` found. Codes, not exceptions: the relay counts each and moves on. */
export const TextCheck = {
  /** Printable text: relay it. */
  ok: 0,
  /** Nothing but spaces and tabs: ignore it. */
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
    blank = false;
    if (b === DEL) return TextCheck.control;
    if (b === C1_LEAD && i + 1 < end) {
      const next = bytes[i + 1]!;
      if (next >= C1_FIRST && next <= C1_LAST) return TextCheck.control;
    }
  }
  return blank ? TextCheck.blank : TextCheck.ok;
}

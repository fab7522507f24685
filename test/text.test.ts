// Text rules as byte scans: line ends, blank lines, control characters, with odd and multi-byte inputs.

import { describe, expect, test } from "bun:test";
import { checkText, lineEnd, TextCheck } from "../src/protocol/text.ts";

const bytes = (s: string | number[]) => (typeof s === "string" ? new TextEncoder().encode(s) : new Uint8Array(s));

describe("lineEnd", () => {
  const cases: [string, string, number][] = [
    ["empty", "", 0],
    ["no line end", "hi", 2],
    ["nc's newline", "hi\n", 2],
    ["CRLF", "hi\r\n", 2],
    ["several", "hi\n\r\n\n", 2],
    ["only a newline", "\n", 0],
    ["newline inside stays", "a\nb", 3],
  ];
  for (const [label, input, end] of cases) test(label, () => expect(lineEnd(bytes(input))).toBe(end));
});

describe("checkText", () => {
  const cases: [string, string | number[], TextCheck][] = [
    ["plain", "hello", TextCheck.ok],
    ["tab allowed", "a\tb", TextCheck.ok],
    ["multi-byte", "grüße, 世界 ✓ 🦊", TextCheck.ok],
    ["U+00A0 is text, not control", "a\u00a0b", TextCheck.ok],
    ["U+00E9 (0xC3 0xA9) is text", "é", TextCheck.ok],
    ["U+00C2 lead byte followed by 0xA0+ is text", "Â¡", TextCheck.ok],
    ["empty", "", TextCheck.blank],
    ["spaces", "   ", TextCheck.blank],
    ["spaces and tabs", " \t ", TextCheck.blank],
    ["Unicode spaces only (U+00A0, U+3000, U+2003, U+FEFF)", "\u00a0 \u3000\u2003\ufeff", TextCheck.blank],
    ["Unicode spaces around text", "\u00a0hi\u3000", TextCheck.ok],
    ["U+200B (zero width, not white space) is text", "\u200b", TextCheck.ok],
    ["ANSI escape", "\x1b[31mred", TextCheck.control],
    ["BEL", "ding\x07", TextCheck.control],
    ["NUL", [0x61, 0x00, 0x62], TextCheck.control],
    ["newline inside a line", "a\nb", TextCheck.control],
    ["CR inside a line (overwrites the terminal line)", "a\rb", TextCheck.control],
    ["backspace", "a\bb", TextCheck.control],
    ["DEL", "a\x7fb", TextCheck.control],
    ["C1 CSI U+009B", "a\u009b31m", TextCheck.control],
    ["C1 U+0080", "\u0080", TextCheck.control],
    ["control after blank", " \x1b", TextCheck.control],
  ];
  for (const [label, input, want] of cases) {
    test(label, () => {
      const b = bytes(input);
      expect(checkText(b, b.length)).toBe(want);
    });
  }

  test("only bytes before `end` are looked at", () => {
    const b = bytes("hi\n");
    expect(checkText(b, lineEnd(b))).toBe(TextCheck.ok);
    expect(checkText(b, b.length)).toBe(TextCheck.control);
  });

  test("a C1 lead byte split from its second byte by `end` is not a control", () => {
    const b = bytes([0x61, 0xc2, 0x9b]);
    expect(checkText(b, 2)).toBe(TextCheck.ok); // the UTF-8 check refuses the cut sequence, not this one
  });
});

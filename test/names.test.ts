// Name rules: length in characters, control and invisible characters, the separator, and lookalikes of the server.

import { describe, expect, test } from "bun:test";
import { cleanName, NameProblem, nameKey, nameLength, nameProblem } from "../src/protocol/names.ts";

describe("nameProblem", () => {
  const cases: [string, string, NameProblem | undefined][] = [
    ["plain", "alice", undefined],
    ["spaces inside", "Ann Lee", undefined],
    ["multi-byte", "Zoë🦊", undefined],
    ["emoji with ZWJ", "👩‍💻", undefined],
    ["exactly 32 characters", "x".repeat(32), undefined],
    ["32 four-byte characters", "🦊".repeat(32), undefined],
    ["a tilde without spaces", "a~b", undefined],
    ["server inside a name", "serverfan", undefined],
    ["empty", "", NameProblem.empty],
    ["33 characters", "x".repeat(33), NameProblem.tooLong],
    ["33 four-byte characters", "🦊".repeat(33), NameProblem.tooLong],
    ["ESC", "a\x1bb", NameProblem.control],
    ["tab", "a\tb", NameProblem.control],
    ["newline inside", "a\nb", NameProblem.control],
    ["C1", "a\u009bb", NameProblem.control],
    ["right-to-left override", "a\u202eb", NameProblem.control],
    ["zero-width space", "a\u200bb", NameProblem.control],
    ["separator", "a ~ b", NameProblem.separator],
    ["ends with ' ~'", "alice ~", NameProblem.separator],
    ["starts with /", "/quit", NameProblem.slash],
    ["server", "server", NameProblem.server],
    ["SERVER", "SERVER", NameProblem.server],
    ["fullwidth Ｓｅｒｖｅｒ", "Ｓｅｒｖｅｒ", NameProblem.server],
    ["[SERVER]", "[SERVER]", NameProblem.server],
    ["[Server] admin", "[Server] admin", NameProblem.server],
    ["ends with (private)", "bob (private)", NameProblem.private],
    ["ends with (PRIVATE)", "bob (PRIVATE)", NameProblem.private],
  ];
  for (const [label, name, want] of cases) test(label, () => expect(nameProblem(name, 32)).toBe(want));

  test("--max-name is honoured", () => {
    expect(nameProblem("abcd", 3)).toBe(NameProblem.tooLong);
    expect(nameProblem("abc", 3)).toBeUndefined();
  });
});

describe("nameKey", () => {
  test("case, width and ß fold together", () => {
    expect(nameKey("Alice")).toBe(nameKey("aLICE"));
    expect(nameKey("ＢＯＢ")).toBe(nameKey("bob"));
    expect(nameKey("Straße")).toBe(nameKey("STRASSE"));
    expect(nameKey("alice")).not.toBe(nameKey("alicia"));
  });
  test("composed and decomposed forms are one name", () => {
    expect(nameKey("Zo\u00eb")).toBe(nameKey("Zoe\u0308"));
  });
});

test("cleanName trims what nc and people add", () => {
  expect(cleanName("  dave\r\n")).toBe("dave");
  expect(cleanName(" \n")).toBe("");
});

test("nameLength counts code points, not UTF-16 units", () => {
  expect(nameLength("🦊🦊")).toBe(2);
  expect(nameLength("")).toBe(0);
});

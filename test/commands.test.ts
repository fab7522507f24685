// Command parsing and /msg recipient splitting, as tables.

import { describe, expect, test } from "bun:test";
import { type Command, parseCommand, splitRecipient } from "../src/protocol/commands.ts";

describe("parseCommand", () => {
  const cases: [string, Command][] = [
    ["/quit", { kind: "quit" }],
    ["/QUIT", { kind: "quit" }],
    ["/quit now please", { kind: "quit" }],
    ["/who", { kind: "who" }],
    ["/ping", { kind: "ping" }],
    ["/help", { kind: "help" }],
    ["/nick bob", { kind: "nick", name: "bob" }],
    ["/nick   Ann Lee  ", { kind: "nick", name: "Ann Lee" }],
    ["/nick", { kind: "usage", command: "nick" }],
    ["/nick    ", { kind: "usage", command: "nick" }],
    ["/msg bob hi there", { kind: "msg", args: "bob hi there" }],
    ["/msg\tbob hi", { kind: "msg", args: "bob hi" }],
    ["/msg", { kind: "usage", command: "msg" }],
    ["/me waves", { kind: "me", action: "waves" }],
    ["/me", { kind: "usage", command: "me" }],
    ["//x", { kind: "literal", text: "/x" }],
    ["// spaced", { kind: "literal", text: "/ spaced" }],
    ["//", { kind: "literal", text: "/" }],
    ["/", { kind: "unknown", word: "/" }],
    ["/ hello", { kind: "unknown", word: "/" }],
    ["/dance now", { kind: "unknown", word: "/dance" }],
    ["/quitx", { kind: "unknown", word: "/quitx" }],
  ];
  for (const [input, want] of cases) test(JSON.stringify(input), () => expect(parseCommand(input)).toEqual(want));
});

describe("splitRecipient", () => {
  const online = new Set(["bob", "ann", "ann lee"]);
  const isName = (n: string) => online.has(n.toLowerCase());
  const cases: [string, ReturnType<typeof splitRecipient>][] = [
    ["bob hi", { found: true, name: "bob", text: "hi" }],
    ["BOB hi  there ", { found: true, name: "BOB", text: "hi  there" }],
    ["Ann Lee hello", { found: true, name: "Ann Lee", text: "hello" }],
    ["Ann Leeds hello", { found: true, name: "Ann", text: "Leeds hello" }],
    ["bob", { found: true, name: "bob", text: "" }],
    ["carol hi", { found: false, name: "carol" }],
    ["carol", { found: false, name: "carol" }],
  ];
  for (const [args, want] of cases) test(JSON.stringify(args), () => expect(splitRecipient(args, isName, 32)).toEqual(want));

  test("only prefixes that could be a name are tried: the work grows with --max-name, not with the line", () => {
    const tried: string[] = [];
    const args = "\u{FDFA} ".repeat(510);
    const got = splitRecipient(args, (n) => (tried.push(n), false), 8);
    expect(got).toEqual({ found: false, name: "\u{FDFA}" });
    expect(tried.length).toBeLessThanOrEqual(4);
    expect(Math.max(...tried.map((n) => [...n].length))).toBeLessThanOrEqual(8);
  });

  test("a name at the limit is still found, with or without text after it", () => {
    const name = "a b c d"; // 7 characters
    const isAnn = (n: string) => n === name;
    expect(splitRecipient(`${name} hi`, isAnn, 7)).toEqual({ found: true, name, text: "hi" });
    expect(splitRecipient(name, isAnn, 7)).toEqual({ found: true, name, text: "" });
    const astral = "\u{1F600} \u{1F600}"; // 3 characters, 5 UTF-16 units
    expect(splitRecipient(`${astral} hi`, (n) => n === astral, 3)).toEqual({ found: true, name: astral, text: "hi" });
    expect(splitRecipient(`${astral} hi`, (n) => n === astral, 2)).toEqual({ found: false, name: "\u{1F600}" });
  });
});

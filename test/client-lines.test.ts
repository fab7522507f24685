// The terminal client's pure parts: line kinds, sanitising, colour, the join step, renames, options.

import { describe, expect, test } from "bun:test";
import { classify, joinStep, LineKind, paint, renamedTo, sanitize, useColour } from "../src/client/lines.ts";
import { clientDefaults, parseClientOptions } from "../src/client/options.ts";
import { ConfigError } from "../src/config.ts";

describe("classify", () => {
  const cases: [string, LineKind][] = [
    ["[SERVER] bob has joined the chat.", LineKind.server],
    ["[SERVER] pong", LineKind.server],
    ["me ~ hi", LineKind.own],
    ["bob ~ hi", LineKind.other],
    ["mel ~ hi", LineKind.other],
    ["bob ~ me ~ hi", LineKind.other],
    ["bob (private) ~ psst", LineKind.private],
    ["me (private) ~ my own private echo", LineKind.private],
    ["* bob waves", LineKind.action],
    ["something odd", LineKind.other],
  ];
  for (const [line, kind] of cases) test(line, () => expect(classify(line, "me")).toBe(kind));
});

test("sanitize replaces every control character but tab", () => {
  expect(sanitize("a\x1b[31mb\x07c\td\u009be\nf")).toBe("a\ufffd[31mb\ufffdc\td\ufffde\ufffdf");
  expect(sanitize("grüße 🦊")).toBe("grüße 🦊");
});

test("colour only on a terminal, and NO_COLOR (non-empty) turns it off", () => {
  expect(useColour(true, {})).toBe(true);
  expect(useColour(false, {})).toBe(false);
  expect(useColour(true, { NO_COLOR: "1" })).toBe(false);
  expect(useColour(true, { NO_COLOR: "" })).toBe(true);
  expect(paint(LineKind.server, "x", true)).toBe("\x1b[33mx\x1b[0m");
  expect(paint(LineKind.other, "x", true)).toBe("x");
  expect(paint(LineKind.server, "x", false)).toBe("x");
});

describe("joinStep", () => {
  test("own join notice", () => expect(joinStep("[SERVER] ann has joined the chat.", "ann")).toEqual({ kind: "joined" }));
  test("someone else's join", () => expect(joinStep("[SERVER] bob has joined the chat.", "ann")).toEqual({ kind: "wait" }));
  test("refused", () => {
    const n = "[SERVER] Name refused: ann is taken. Send another name.";
    expect(joinStep(n, "ann")).toEqual({ kind: "refused", notice: n });
  });
  test("full", () => expect(joinStep("[SERVER] Server is full.", "ann").kind).toBe("fatal"));
  test("shutting down", () => expect(joinStep("[SERVER] Server is shutting down.", "ann").kind).toBe("fatal"));
  test("address validation: reply with exactly what was asked", () =>
    expect(joinStep("[SERVER] Reply with 7KQM-2XPD ann to join.", "ann")).toEqual({ kind: "reply", text: "7KQM-2XPD ann" }));
});

test("renamedTo follows our own renames only", () => {
  expect(renamedTo("[SERVER] me is now known as Ann Lee.", "me")).toBe("Ann Lee");
  expect(renamedTo("[SERVER] mel is now known as x.", "me")).toBeUndefined();
  expect(renamedTo("[SERVER] bob is now known as me.", "me")).toBeUndefined();
});

describe("client options", () => {
  const parse = (argv: string[]) => {
    const p = parseClientOptions(argv);
    if (p.help) throw new Error("help");
    return p.options;
  };
  test("defaults", () => expect(parse([])).toEqual(clientDefaults));
  test("flags", () => {
    expect(parse(["--host", "::1", "--port", "4000", "--name", " zed ", "--keepalive", "0.5", "--join-timeout", "1"])).toEqual({
      host: "::1",
      port: 4000,
      name: " zed ",
      keepaliveMs: 500,
      joinTimeoutMs: 1000,
    });
  });
  test("help", () => expect(parseClientOptions(["-h"]).help).toBe(true));
  for (const argv of [["--port", "0"], ["--keepalive", "0"], ["--join-timeout", "x"], ["--what"]]) {
    test(`refused: ${argv.join(" ")}`, () => expect(() => parse(argv)).toThrow(ConfigError));
  }
  test("the keepalive is well inside the relay's default idle timeout", async () => {
    const { defaults } = await import("../src/config.ts");
    expect(clientDefaults.keepaliveMs * 10).toBeLessThan(defaults.idleTimeoutMs);
  });
});

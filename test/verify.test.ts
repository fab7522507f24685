// Table tests for address validation: codes, their lifetime across rotations, the answer and challenge wire forms.

import { describe, expect, test } from "bun:test";
import { notice } from "../src/protocol/wire.ts";
import { isLoopback, verifies } from "../src/config.ts";
import { AddressVerifier } from "../src/defence/verify.ts";
import { CODE_ALPHABET, challengeReply, formatAnswer, mayBeAnswer, parseAnswer } from "../src/protocol/answer.ts";

const CODE = /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/;

describe("AddressVerifier", () => {
  test("a code is two groups of four Crockford base32 characters", () => {
    const v = new AddressVerifier();
    for (let port = 1000; port < 1050; port++) expect(v.code("192.0.2.1", port, "alice")).toMatch(CODE);
    expect(CODE_ALPHABET).toHaveLength(32);
  });

  test("the code checks for its own address, port and name only", () => {
    const v = new AddressVerifier();
    const code = v.code("192.0.2.1", 5000, "alice");
    expect(v.check("192.0.2.1", 5000, "alice", code)).toBe(true);
    expect(v.check("192.0.2.2", 5000, "alice", code)).toBe(false);
    expect(v.check("192.0.2.1", 5001, "alice", code)).toBe(false);
    expect(v.check("192.0.2.1", 5000, "bob", code)).toBe(false);
    expect(v.check("192.0.2.1", 5000, "alice", "0000-0000")).toBe(false);
    expect(v.check("192.0.2.1", 5000, "alice", "")).toBe(false);
  });

  test("names compare as the chat compares them: ignoring case and width", () => {
    const v = new AddressVerifier();
    expect(v.check("192.0.2.1", 5000, "ALICE", v.code("192.0.2.1", 5000, "alice"))).toBe(true);
  });

  test("a code lives through one rotation and dies at the second", () => {
    const v = new AddressVerifier();
    const code = v.code("192.0.2.1", 5000, "alice");
    v.rotate();
    expect(v.check("192.0.2.1", 5000, "alice", code)).toBe(true);
    v.rotate();
    expect(v.check("192.0.2.1", 5000, "alice", code)).toBe(false);
  });

  test("two relays (two secrets) give different codes", () => {
    const a = new AddressVerifier();
    const b = new AddressVerifier();
    expect(a.code("192.0.2.1", 5000, "alice")).not.toBe(b.code("192.0.2.1", 5000, "alice"));
  });
});

describe("parseAnswer", () => {
  const cases: [string, ReturnType<typeof parseAnswer>][] = [
    ["7KQM-2XPD alice", { code: "7KQM-2XPD", name: "alice" }],
    ["7kqm-2xpd alice", { code: "7KQM-2XPD", name: "alice" }],
    ["OIL0-2XPD alice", { code: "0110-2XPD", name: "alice" }],
    ["7KQM-2XPD Ann Lee\n", { code: "7KQM-2XPD", name: "Ann Lee" }],
    ["7KQM-2XPD  spaced ", { code: "7KQM-2XPD", name: "spaced" }],
    ["7KQM-2XPD", undefined],
    ["7KQM-2XPD ", undefined],
    ["7KQM-2XPD  ", undefined],
    ["7KQM2XPD alice", undefined],
    ["7KQU-2XPD alice", undefined],
    ["alice", undefined],
    ["", undefined],
    ["Robert Smith", undefined],
  ];
  for (const [text, want] of cases) test(JSON.stringify(text), () => expect(parseAnswer(text)).toEqual(want));

  test("mayBeAnswer is the byte guard for the same shape", () => {
    const utf8 = new TextEncoder();
    expect(mayBeAnswer(utf8.encode("7KQM-2XPD alice"))).toBe(true);
    expect(mayBeAnswer(utf8.encode("7KQM-2XPD "))).toBe(false);
    expect(mayBeAnswer(utf8.encode("alice"))).toBe(false);
    expect(mayBeAnswer(new Uint8Array(0))).toBe(false);
  });
});

describe("challengeReply", () => {
  test("returns exactly the text to send back", () => {
    const reply = formatAnswer("7KQM-2XPD", "Ann Lee");
    expect(notice.challenge(reply)).toBe("[SERVER] Reply with 7KQM-2XPD Ann Lee to join.");
    expect(challengeReply(notice.challenge(reply))).toBe("7KQM-2XPD Ann Lee");
    expect(parseAnswer(challengeReply(notice.challenge(reply))!)).toEqual({ code: "7KQM-2XPD", name: "Ann Lee" });
  });

  test("a name containing the closing words survives", () => {
    expect(challengeReply(notice.challenge("7KQM-2XPD x to join."))).toBe("7KQM-2XPD x to join.");
  });

  test("other lines are not challenges", () => {
    for (const line of ["[SERVER] Reply with  to join.", "[SERVER] alice has joined the chat.", "bob ~ [SERVER] Reply with X to join.", ""]) {
      expect(challengeReply(line)).toBeUndefined();
    }
  });
});

describe("verifies", () => {
  const cases: [Parameters<typeof verifies>[0], string, boolean][] = [
    ["auto", "127.0.0.1", false],
    ["auto", "127.1.2.3", false],
    ["auto", "::1", false],
    ["auto", "0.0.0.0", true],
    ["auto", "::", true],
    ["auto", "192.168.1.20", true],
    ["on", "127.0.0.1", true],
    ["off", "0.0.0.0", false],
  ];
  for (const [mode, host, want] of cases) test(`${mode} on ${host}`, () => expect(verifies(mode, host)).toBe(want));
  test("isLoopback", () => expect([isLoopback("::ffff:127.0.0.1"), isLoopback("128.0.0.1")]).toEqual([true, false]));
});

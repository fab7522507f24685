// The state file format: what encodeState writes decodeState reads back, and every kind of bad file is refused whole.

import { describe, expect, test } from "bun:test";
import { defaults } from "../src/config.ts";
import { RememberedNames } from "../src/remembered.ts";
import { decodeState, encodeState, MAX_LINE_BYTES, maxStateBytes, type RelayState, STATE_VERSION } from "../src/state.ts";
import { restoredBindings } from "../src/state-file.ts";

const limits = { maxNameChars: 32, maxDatagramBytes: 2048, maxClients: 100, rememberedNames: 100 };
const T = 1_800_000_000_000;
const state: RelayState = {
  writtenMs: T,
  clients: [
    { name: "alice", address: "127.0.0.1", port: 5000, seenMs: T - 10 },
    { name: "Zoë \"the\" \\ 👩‍💻", address: "::1", port: 6000, seenMs: T - 20 },
  ],
  away: [{ name: "carol", address: "192.168.1.2", port: 7000, timedOutMs: T - 3_600_000 }],
};

function decodeProblem(text: string, over = limits): string {
  const d = decodeState(text, over);
  if (d.ok) throw new Error("accepted");
  return d.problem;
}

const good = encodeState(state, 32);
const lines = good.split("\n");
const withLine = (i: number, line: string) => lines.map((l, j) => (j === i ? line : l)).join("\n");

test("what is written reads back the same, one JSON object a line", () => {
  expect(lines).toHaveLength(5);
  expect(lines.at(-1)).toBe("");
  for (const line of lines.slice(0, -1)) expect(() => JSON.parse(line)).not.toThrow();
  expect(JSON.parse(lines[0]!)).toMatchObject({ format: "udp-relay-state", version: STATE_VERSION, maxName: 32, clients: 2, away: 1 });
  const d = decodeState(good, limits);
  expect(d).toEqual({ ok: true, state });
});

test("an empty relay writes a header only, and reads back empty", () => {
  const d = decodeState(encodeState({ writtenMs: T, clients: [], away: [] }, 32), limits);
  expect(d).toEqual({ ok: true, state: { writtenMs: T, clients: [], away: [] } });
});

describe("refused whole", () => {
  const cases: [string, string, RegExp][] = [
    ["empty", "", /empty/],
    ["not JSON", "garbage\n", /not a relay state file/],
    ["another format", `{"format":"x","version":1}\n`, /not a relay state file/],
    ["wrong version", lines[0]!.replace(`"version":1`, `"version":2`), /version 2, this relay reads version 1/],
    ["another --max-name", lines[0]!.replace(`"maxName":32`, `"maxName":16`), /--max-name 16.*--max-name 32/],
    ["truncated at a line", lines.slice(0, 3).join("\n"), /truncated/],
    ["truncated mid-line", good.slice(0, good.length - 20), /not JSON/],
    ["padded", `${good}{"name":"x","address":"127.0.0.1","port":1,"timedOutMs":${T}}\n`, /truncated or padded/],
    ["control character in a name", withLine(1, lines[1]!.replace("alice", "al\\u001b[2Jice")), /a name a client could not join with/],
    ["a server tag for a name", withLine(1, lines[1]!.replace("alice", "[SERVER]")), /could not join/],
    ["a slash name", withLine(1, lines[1]!.replace("alice", "/quit")), /could not join/],
    ["white space round a name", withLine(1, lines[1]!.replace("alice", " alice")), /white space/],
    ["a name too long", withLine(1, lines[1]!.replace("alice", "a".repeat(33))), /could not join/],
    ["a host name for an address", withLine(1, lines[1]!.replace("127.0.0.1", "example.com")), /not an IP/],
    ["port 0", withLine(1, lines[1]!.replace("5000", "0")), /port/],
    ["a fractional port", withLine(1, lines[1]!.replace("5000", "50.5")), /port/],
    ["a string for a time", withLine(1, lines[1]!.replace(/"seenMs":\d+/, `"seenMs":"soon"`)), /expected/],
    ["an extra field", withLine(1, lines[1]!.replace("}", `,"admin":true}`)), /expected/],
    ["a client's field on a remembered line", withLine(3, lines[3]!.replace("timedOutMs", "seenMs")), /expected/],
    ["an array", withLine(1, "[1,2,3]"), /not JSON/],
    ["a line longer than any valid one", withLine(1, `{"name":"${"a".repeat(MAX_LINE_BYTES)}"}`), /not JSON/],
    ["the same address twice", withLine(3, lines[3]!.replace("192.168.1.2", "127.0.0.1").replace("7000", "5000")), /appears twice/],
    ["two clients with one name (ignoring case)", encodeState({ ...state, clients: [state.clients[0]!, { ...state.clients[1]!, name: "ALICE" }] }, 32), /same name/],
    ["more clients than --max-clients", good, /more than --max-clients 1/],
  ];
  for (const [what, text, problem] of cases) {
    test(what, () => {
      const over = what.includes("--max-clients") ? { ...limits, maxClients: 1 } : limits;
      expect(decodeProblem(text, over)).toMatch(problem);
    });
  }

  test("100 000 entries for one address", () => {
    const n = 100_000;
    const dup = Array.from({ length: n }, (_, i) => ({ name: `n${i}`, address: "10.0.0.1", port: 9, timedOutMs: T }));
    const text = encodeState({ writtenMs: T, clients: [], away: dup }, 32);
    expect(decodeProblem(text, { ...limits, rememberedNames: n })).toMatch(/line 3: 10.0.0.1 port 9 appears twice/);
  });
});

test("a remembered name may be one a live client holds now (taken while away)", () => {
  const away = [{ name: "alice", address: "10.0.0.9", port: 1, timedOutMs: T }];
  expect(decodeState(encodeState({ ...state, away }, 32), limits).ok).toBe(true);
});

test("the size bound allows the largest valid file", () => {
  const name = "𝔞".repeat(64); // 4 UTF-8 bytes a character
  const address = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";
  const big = { maxNameChars: 64, maxDatagramBytes: 65_507, maxClients: 1, rememberedNames: 1 };
  const text = encodeState(
    {
      writtenMs: T,
      clients: [{ name, address, port: 65535, seenMs: T }],
      away: [{ name: `${name.slice(0, -2)}b`, address: "::1", port: 65535, timedOutMs: T }],
    },
    64,
  );
  expect(decodeState(text, big).ok).toBe(true);
  expect(Buffer.byteLength(text)).toBeLessThanOrEqual(maxStateBytes(big));
  expect(maxStateBytes(defaults)).toBe((defaults.maxClients + defaults.rememberedNames + 1) * MAX_LINE_BYTES);
});

test("restored bindings: a client's window counts from the write, a remembered one's from its timeout", () => {
  const day = 24 * 3_600_000;
  const bindings = restoredBindings(state, day, T + 1000);
  expect(bindings.map((b) => [b.name, b.leftMs])).toEqual([
    ["alice", day - 1000],
    [state.clients[1]!.name, day - 1000],
    ["carol", day - 3_600_000 - 1000],
  ]);
  // A day later the clients are gone too; a time in the future counts as now.
  expect(restoredBindings(state, day, T + day)).toEqual([]);
  expect(restoredBindings(state, day, T - 5000).every((b) => b.leftMs <= day)).toBe(true);
});

test("restored bindings go back oldest first, and expire and hand out as remembered ones do", () => {
  const r = new RememberedNames(2, 1000);
  r.restore(
    [
      { address: "h", port: 1, name: "late", leftMs: 900 },
      { address: "h", port: 2, name: "early", leftMs: 100 },
      { address: "h", port: 3, name: "gone", leftMs: 0 },
      { address: "h", port: 4, name: "extra", leftMs: 500 },
    ],
    0,
  );
  expect([...r.all()].map((b) => b.name)).toEqual(["early", "extra", "late"]); // over capacity until a new one comes
  r.expire(200);
  expect(r.peek("h", 2, 200)).toBeUndefined();
  r.remember("h", 5, "new", 200);
  expect([...r.all()].map((b) => b.name)).toEqual(["late", "new"]);
  expect(r.take("h", 1, 300)).toBe("late");
});

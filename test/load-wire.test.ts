// The load message format: fields round-trip at a fixed offset from the end, whatever the sender's name.

import { describe, expect, test } from "bun:test";
import { HEADER_BYTES, MAX_LAG_US, MAX_SCHEDULED_US, MAX_SEQ, MAX_SENDERS, type MessageFields, newPayload, readMessage, writeMessage } from "../src/load/wire.ts";

const utf8 = new TextEncoder();
const fields = (): MessageFields => ({ sender: -1, seq: -1, scheduledUs: -1, lagUs: -1 });

/** The datagram the relay would deliver: `<name> ~ <text>`. */
function relayed(name: string, text: Uint8Array): Uint8Array {
  const prefix = utf8.encode(`${name} ~ `);
  const out = new Uint8Array(prefix.length + text.length);
  out.set(prefix);
  out.set(text, prefix.length);
  return out;
}

describe("load wire format", () => {
  test.each([
    [0, 0, 0, 0],
    [1, 2, 3, 4],
    [MAX_SENDERS - 1, MAX_SEQ - 1, MAX_SCHEDULED_US - 1, MAX_LAG_US],
    [4095, 123_456_789, 98_765_432_109, 65_000],
  ])("sender %d seq %d scheduled %d lag %d round-trips", (sender, seq, scheduledUs, lagUs) => {
    for (const payloadBytes of [HEADER_BYTES, 32, 1000]) {
      const p = newPayload(payloadBytes);
      writeMessage(p, sender, seq, scheduledUs, lagUs);
      expect(new TextDecoder("utf-8", { fatal: true }).decode(p)).toMatch(/^%[0-9A-Za-z_-]+x*$/);
      for (const name of ["c7", "Zoë🦊", "a-much-longer-client-name"]) {
        const out = fields();
        expect(readMessage(relayed(name, p), payloadBytes, out)).toBe(true);
        expect(out).toEqual({ sender, seq, scheduledUs, lagUs });
      }
    }
  });

  test("a lag beyond the field is clamped, not wrapped", () => {
    const p = newPayload(32);
    writeMessage(p, 1, 1, 1, MAX_LAG_US * 10);
    const out = fields();
    expect(readMessage(relayed("c1", p), 32, out)).toBe(true);
    expect(out.lagUs).toBe(MAX_LAG_US);
  });

  test("notices, foreign lines, wrong sizes and corrupt digits are not load messages", () => {
    const p = newPayload(32);
    writeMessage(p, 5, 6, 7, 8);
    const good = relayed("c5", p);
    const corrupt = good.slice();
    corrupt[good.length - 32 + 3] = 0x21; // "!" is not a digit
    const cases: Uint8Array[] = [
      utf8.encode("[SERVER] c5 has joined the chat."),
      utf8.encode(`c5 ~ ${"y".repeat(32)}`),
      relayed("c5", p.subarray(0, 31)), // one byte short of the run's payload size
      p, // no prefix at all
      corrupt,
      new Uint8Array(0),
    ];
    for (const datagram of cases) expect(readMessage(datagram, 32, fields())).toBe(false);
  });
});

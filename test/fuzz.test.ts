// A fuzz loop against a live relay: random datagrams from registered and new addresses; nothing invalid ever comes out.

import { isUtf8 } from "node:buffer";
import { expect, test } from "bun:test";
import fc from "fast-check";
import { startTestRelay } from "./support/relays.ts";

const DATAGRAMS = 1500;
const MAX_DATAGRAM = 512;
const BUDGET_MS = 8000;

// Shapes a hostile or broken client sends: raw bytes, text with escapes, commands with junk arguments, oversize.
const controlText = fc.array(fc.constantFrom("\x1b[2J", "\x07", "\x00", "\r\n", "\u009b", "\x7f", "\t", "é", "🦊", "~", " ~ ", "[SERVER]", "/"), { maxLength: 8 }).map((a) => a.join(""));
const datagram = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc.string({ unit: "binary", maxLength: 100 }).map((s) => new TextEncoder().encode(s)),
  fc.tuple(fc.constantFrom("/nick ", "/msg ", "/me ", "/who", "/ping", "/help", "//", "/x ", "/NICK ", "/msg watcher0 "), fc.oneof(controlText, fc.string({ maxLength: 40 }))).map(([c, a]) => new TextEncoder().encode(c + a)),
  controlText.map((s) => new TextEncoder().encode(s)),
  fc.integer({ min: MAX_DATAGRAM - 20, max: 4000 }).map((n) => new Uint8Array(n).fill(0x61)),
  fc.constant(new Uint8Array(0)),
);

/** A registered client that keeps the raw bytes it receives: the decoded text of a Peer would hide invalid UTF-8. */
async function rawWatcher(relayPort: number, name: string) {
  const got: Uint8Array[] = [];
  const socket = await Bun.udpSocket({ hostname: "127.0.0.1", socket: { data: (_s, d) => void got.push(new Uint8Array(d)) } });
  socket.send(name, relayPort, "127.0.0.1");
  const joined = `[SERVER] ${name} has joined the chat.`;
  for (let i = 0; i < 200 && !got.some((b) => new TextDecoder().decode(b) === joined); i++) await Bun.sleep(10);
  return { got, [Symbol.dispose]: () => socket.close() };
}

test("random datagrams never crash the relay, never reach a terminal as control characters or invalid UTF-8", async () => {
  await using relay = await startTestRelay({ rateLimitPerSecond: 0, maxDatagramBytes: MAX_DATAGRAM });
  using raw = await rawWatcher(relay.port, "raw");
  const watchers = await relay.join(2, "watcher");
  const fuzzers = await relay.join(3, "fuzz");
  const peers = [...watchers, ...fuzzers];
  for (let i = 0; i < 4; i++) peers.push(await relay.stranger()); // unregistered: their datagrams are names
  const senders = peers.slice(2);
  const inputs = fc.sample(datagram, { numRuns: DATAGRAMS, seed: 20240601 });
  const deadline = performance.now() + BUDGET_MS;
  for (let i = 0; i < inputs.length && performance.now() < deadline; i++) {
    senders[i % senders.length]!.send(inputs[i]!);
    if (i % 50 === 49) await Bun.sleep(2); // let the relay and the watchers keep up; drops would only hide output
  }
  await Bun.sleep(100);

  const seen = [...raw.got, ...peers.flatMap((p) => p.inbox.splice(0)).map((l) => new TextEncoder().encode(l))];
  expect(raw.got.length).toBeGreaterThan(100);
  for (const bytes of seen) {
    expect(isUtf8(bytes)).toBe(true);
    expect(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/.test(new TextDecoder().decode(bytes))).toBe(false);
    expect(bytes.length).toBeLessThanOrEqual(MAX_DATAGRAM);
  }
  // Still serving: a watcher's line reaches the other watcher.
  watchers[0]!.send("still alive");
  expect(await watchers[1]!.until((l) => l.startsWith("watcher0 ~"))).toBe("watcher0 ~ still alive");
  expect(relay.stats.datagramsIn).toBeGreaterThanOrEqual(DATAGRAMS / 2);
});

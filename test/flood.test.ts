// A registered client floods as fast as another process can send; the others keep chatting, promptly; the flood is capped.

import { expect, test } from "bun:test";
import { defaults } from "../src/config.ts";
import { endedOnDispose } from "./support/process.ts";
import { startTestRelay } from "./support/relays.ts";
import { bun, root } from "./support/server-process.ts";

const FLOOD_MS = 2500;
const CHAT_LINES = 20;
const CHAT_EVERY_MS = 50;
/** A generous bound to catch a stall, not a speed figure: a line from a chatter reaches the others by then. */
const PROMPT_MS = 500;

test("a flooder is capped at its rate while other clients' lines still arrive promptly", async () => {
  await using relay = await startTestRelay();
  const peers = await relay.join(3, "chat");
  await using flooder = endedOnDispose(Bun.spawn([bun, "test/fixtures/flood.ts", "flood", String(relay.port), String(FLOOD_MS)], { cwd: root, stdout: "pipe", stderr: "pipe" }));
  const deadline = performance.now() + 3000;
  while (relay.registry.findByName("flooder") === undefined && performance.now() < deadline) await Bun.sleep(10);
  expect(relay.registry.findByName("flooder")).toBeDefined();
  await Bun.sleep(200); // the flood is under way
  const floodStart = relay.stats.linesRelayed;
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const [speaker, listener] = [peers[0]!, peers[1]!];
  listener.inbox.length = 0;
  for (let i = 0; i < CHAT_LINES; i++) {
    sentAt.set(`chat0 ~ c${i}`, performance.now());
    speaker.send(`c${i}`);
    const until = performance.now() + CHAT_EVERY_MS;
    while (performance.now() < until) {
      await Bun.sleep(5);
      for (const line of listener.inbox.splice(0)) {
        const t = sentAt.get(line);
        if (t !== undefined) latencies.push(performance.now() - t);
      }
    }
  }
  const last = performance.now() + PROMPT_MS;
  while (latencies.length < CHAT_LINES && performance.now() < last) {
    await Bun.sleep(5);
    for (const line of listener.inbox.splice(0)) {
      const t = sentAt.get(line);
      if (t !== undefined) latencies.push(performance.now() - t);
    }
  }
  expect(latencies).toHaveLength(CHAT_LINES);
  expect(Math.max(...latencies)).toBeLessThan(PROMPT_MS);

  const { sent } = JSON.parse(await new Response(flooder.stdout).text()) as { sent: number };
  await flooder.exited;
  const floodLines = relay.stats.linesRelayed - floodStart - CHAT_LINES;
  // The flooder's whole run: its burst, plus its rate for the run's length, plus a tick of slack.
  const allowed = defaults.burst + (defaults.rateLimitPerSecond * (FLOOD_MS + 500)) / 1000;
  expect(sent).toBeGreaterThan(10_000);
  expect(floodLines).toBeLessThanOrEqual(allowed);
  expect(relay.stats.drops.rate_limited).toBeGreaterThan(sent / 4);
});

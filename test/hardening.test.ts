// The relay's defences over loopback: rate limits, join and unknown-source limits, address validation, the fan-out cap.

import { describe, expect, test } from "bun:test";
import { challengeReply } from "../src/protocol/answer.ts";
import { spawnClient } from "./support/client-process.ts";
import { startTestRelay } from "./support/relays.ts";

const CHALLENGE = /^\[SERVER\] Reply with [0-9A-Z]{4}-[0-9A-Z]{4} (.+) to join\.$/;

describe("per-client rate limit", () => {
  test("a burst beyond --burst is dropped and counted; the sender hears one Slow down.", async () => {
    await using r = await startTestRelay({ rateLimitPerSecond: 1, burst: 3 });
    const [a, b] = await r.join(2);
    for (let i = 0; i < 20; i++) a!.send(`line ${i}`);
    const got = await b!.quiet(300);
    // One refill may land while the burst is read (the clock ticks every 250 ms): at most one more.
    expect(got.length).toBeGreaterThanOrEqual(3);
    expect(got.length).toBeLessThanOrEqual(4);
    expect(got.slice(0, 3)).toEqual(["p0 ~ line 0", "p0 ~ line 1", "p0 ~ line 2"]);
    const own = await a!.quiet(50);
    expect(own.filter((l) => l === "[SERVER] Slow down.")).toHaveLength(1);
    expect(r.stats.drops.rate_limited).toBe(20 - got.length);
  });

  test("the bucket refills: a limited client is heard again a moment later", async () => {
    await using r = await startTestRelay({ rateLimitPerSecond: 20, burst: 1 });
    const [a, b] = await r.join(2);
    a!.send("one");
    a!.send("dropped");
    expect(await b!.next()).toBe("p0 ~ one");
    await Bun.sleep(400);
    a!.send("two");
    expect(await b!.until((l) => l.startsWith("p0 ~ t"))).toBe("p0 ~ two");
  });

  test("--rate-limit 0 lifts the limit: 200 lines at once all arrive", async () => {
    await using r = await startTestRelay({ rateLimitPerSecond: 0, burst: 1 });
    const [a, b] = await r.join(2);
    for (let i = 0; i < 200; i++) a!.send(`l${i}`);
    expect((await b!.collect(200, 3000)).length).toBe(200);
    expect(r.stats.dropsTotal).toBe(0);
  });
});

describe("join limits", () => {
  test("joins beyond --join-rate from one IP are dropped unanswered, and succeed a second later", async () => {
    await using r = await startTestRelay({ joinsPerIpPerSecond: 3 });
    const ps = await Promise.all(Array.from({ length: 6 }, () => r.stranger()));
    ps.forEach((p, i) => p.send(`j${i}`));
    await Bun.sleep(200);
    expect(r.registry.size).toBe(3);
    expect(r.stats.drops.join_limited).toBe(3);
    await Bun.sleep(1000);
    const late = ps.filter((_, i) => r.registry.findByName(`j${i}`) === undefined);
    late.forEach((p) => p.send(`late${ps.indexOf(p)}`));
    await Bun.sleep(200);
    expect(r.registry.size).toBe(6);
  });

  test("--join-rate-total caps joins from everyone", async () => {
    await using r = await startTestRelay({ joinsPerSecond: 2 });
    const ps = await Promise.all(Array.from({ length: 5 }, () => r.stranger()));
    ps.forEach((p, i) => p.send(`t${i}`));
    await Bun.sleep(200);
    expect(r.registry.size).toBe(2);
    expect(r.stats.drops.join_limited).toBe(3);
  });
});

describe("unknown-source limits", () => {
  test("datagrams from unregistered addresses beyond --unknown-rate per /24 are dropped unanswered", async () => {
    await using r = await startTestRelay({ unknownPerPrefixPerSecond: 4 });
    const ps = await Promise.all(Array.from({ length: 8 }, () => r.stranger()));
    for (const p of ps) p.send("server"); // a refused name: each answered one would get a notice
    await Bun.sleep(200);
    const answered = ps.filter((p) => p.inbox.length > 0).length;
    expect(answered).toBe(4);
    expect(r.stats.drops.unknown_limited).toBe(4);
    // Another /24 (127.0.1.0/24 is loopback too) has its own budget.
    const heard: string[] = [];
    using sockets = new DisposableStack();
    const other = sockets.adopt(await Bun.udpSocket({ hostname: "127.0.1.1", socket: { data: (_s, d) => void heard.push(new TextDecoder().decode(d)) } }), (s) => s.close());
    other.send("server", r.port, "127.0.0.1");
    for (let i = 0; i < 100 && heard.length === 0; i++) await Bun.sleep(10);
    expect(heard[0]).toStartWith("[SERVER] Name refused:");
  });

  test("registered clients never count against it", async () => {
    await using r = await startTestRelay({ unknownPerPrefixPerSecond: 2 });
    const [a, b] = await r.join(2);
    a!.send("still here");
    expect(await b!.next()).toBe("p0 ~ still here");
  });
});

describe("address validation", () => {
  test("the first datagram gets one challenge and nothing is stored; the echoed code joins", async () => {
    await using r = await startTestRelay({ verifyAddress: "on" });
    const a = await r.stranger();
    a.send("alice");
    const challenge = await a.next();
    expect(challenge).toMatch(CHALLENGE);
    expect(await a.quiet(50)).toEqual([]);
    expect(r.registry.size).toBe(0);
    expect(r.chat.rememberedCount).toBe(0);
    expect(r.stats.challenges).toBe(1);
    a.send(challengeReply(challenge)!);
    expect(await a.next()).toBe("[SERVER] alice has joined the chat.");
    a.send("hello");
    expect(await a.next()).toBe("alice ~ hello");
  });

  test("a person can type the answer: lower case, O for 0, a trailing newline", async () => {
    await using r = await startTestRelay({ verifyAddress: "on" });
    const a = await r.stranger();
    a.send("Zoë\n");
    const reply = challengeReply(await a.next())!;
    a.send(`${reply.slice(0, 9).toLowerCase().replaceAll("0", "o")}${reply.slice(9)}\n`);
    expect(await a.next()).toBe("[SERVER] Zoë has joined the chat.");
  });

  test("a code from another address, or a made-up one, earns a fresh challenge, not a join", async () => {
    await using r = await startTestRelay({ verifyAddress: "on" });
    const a = await r.stranger();
    const mallory = await r.stranger();
    a.send("alice");
    const reply = challengeReply(await a.next())!;
    mallory.send(reply); // alice's code from mallory's port
    const again = await mallory.next();
    expect(again).toMatch(CHALLENGE);
    expect(challengeReply(again)).not.toBe(reply);
    // A second reply to mallory's address would wait a second (one reply a second per source): a fresh port.
    const eve = await r.stranger();
    eve.send("0000-0000 alice");
    expect(await eve.next()).toMatch(CHALLENGE);
    expect(r.registry.size).toBe(0);
    expect(r.stats.drops.bad_code).toBe(2);
  });

  test("a code dies after two secret rotations", async () => {
    await using r = await startTestRelay({ verifyAddress: "on", verifyWindowMs: 100 });
    const a = await r.stranger();
    a.send("alice");
    const reply = challengeReply(await a.next())!;
    await Bun.sleep(1100); // dead after 200-300 ms; and one reply a second per source
    a.send(reply);
    expect(await a.next()).toMatch(CHALLENGE);
    expect(r.registry.size).toBe(0);
  });

  test("a refused name is refused before any code is issued", async () => {
    await using r = await startTestRelay({ verifyAddress: "on" });
    const a = await r.stranger();
    a.send("Server");
    expect(await a.next()).toStartWith("[SERVER] Name refused: it could pass for the server.");
    expect(r.stats.challenges).toBe(0);
  });

  test("a client that timed out is challenged for its old name", async () => {
    await using r = await startTestRelay({ verifyAddress: "on", idleTimeoutMs: 100 });
    const a = await r.stranger();
    a.send("alice");
    a.send(challengeReply(await a.next())!);
    await a.until((l) => l.startsWith("[SERVER] You timed out"), 3000);
    await Bun.sleep(1000); // one reply a second per source: the first challenge was less than a second ago
    a.send("I am back");
    const challenge = await a.next();
    expect(challenge).toMatch(CHALLENGE);
    expect(CHALLENGE.exec(challenge)![1]).toBe("alice");
    a.send(challengeReply(challenge)!);
    expect(await a.next()).toBe("[SERVER] alice has joined the chat.");
  });

  test("auto is off on loopback: plain clients join with their name as before", async () => {
    await using r = await startTestRelay({ verifyAddress: "auto" });
    const a = await r.stranger();
    a.send("plain");
    expect(await a.next()).toBe("[SERVER] plain has joined the chat.");
  });

  test("the terminal client answers the challenge by itself", async () => {
    await using r = await startTestRelay({ verifyAddress: "on" });
    await using c = spawnClient(["--port", String(r.port), "--name", "term"]);
    await c.until((l) => l === "[SERVER] term has joined the chat.");
    c.type("hi");
    await c.until((l) => l === "term ~ hi");
    expect((await c.finish()).code).toBe(0);
    expect(r.stats.challenges).toBe(1);
  });
});

describe("fan-out cap", () => {
  test("lines beyond --max-fanout-rate deliveries a second are dropped and counted", async () => {
    await using r = await startTestRelay({ maxFanoutPerSecond: 10, rateLimitPerSecond: 0 });
    const [a, b] = await r.join(5);
    await Bun.sleep(1600); // the join notices (15 deliveries) were charged to the same budget: let it refill
    for (let i = 0; i < 10; i++) a!.send(`l${i}`);
    const got = await b!.quiet(200);
    // 10 tokens: 5, 5, then in debt. A tick's refill may let one more through.
    expect(got.length).toBeGreaterThanOrEqual(3);
    expect(got.length).toBeLessThanOrEqual(4);
    expect(r.stats.drops.fanout_limited).toBe(10 - got.length);
  });

  test("auto means no cap on loopback", async () => {
    await using r = await startTestRelay({ rateLimitPerSecond: 0 });
    const [a, b] = await r.join(5);
    for (let i = 0; i < 100; i++) a!.send(`l${i}`);
    expect((await b!.collect(100, 3000)).length).toBe(100);
  });
});

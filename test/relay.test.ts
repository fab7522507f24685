// The relay over real loopback sockets, in process: joins, relaying, echo, UTF-8, refusals, vanished clients, IPv6 — over both send paths.

import { describe, expect, test } from "bun:test";
import type { RelayConfig } from "../src/config.ts";
import type { RelayOptions } from "../src/relay.ts";
import { startTestRelay } from "./support/relays.ts";

// sendmmsg is Linux-only; elsewhere only Bun's sendMany runs.
const paths: ("sendmmsg" | "bun")[] = process.platform === "linux" ? ["sendmmsg", "bun"] : ["bun"];

describe.each(paths)("send path %s", (sendPath) => {
  const start = async (overrides: Partial<RelayConfig> = {}, options?: RelayOptions) => {
    const r = await startTestRelay({ sendPath, ...overrides }, options);
    expect(r.sendPath).toBe(sendPath);
    return r;
  };

  describe("joining", () => {
    test("a join is announced to the joiner too", async () => {
      await using r = await start();
      const alice = await r.stranger();
      alice.send("alice");
      expect(await alice.next()).toBe("[SERVER] alice has joined the chat.");
    });

    test("every registered client hears a join", async () => {
      await using r = await start();
      const [a, b] = await r.join(2);
      const carol = await r.stranger();
      carol.send("carol");
      for (const p of [a!, b!, carol]) expect(await p.next()).toBe("[SERVER] carol has joined the chat.");
      expect(r.registry.size).toBe(3);
    });

    test("the newline nc adds to a name is trimmed", async () => {
      await using r = await start();
      const p = await r.stranger();
      p.send("dave\n");
      expect(await p.next()).toBe("[SERVER] dave has joined the chat.");
      p.send("hi");
      expect(await p.next()).toBe("dave ~ hi");
    });
  });

  describe("relaying", () => {
    test("a line reaches every client, the sender too, as `name ~ text`", async () => {
      await using r = await start();
      const ps = await r.join(3);
      ps[1]!.send("hello there");
      for (const p of ps) expect(await p.next()).toBe("p1 ~ hello there");
      expect(r.stats.linesRelayed).toBe(1);
    });

    test("--no-echo leaves the sender out and still reaches the others", async () => {
      await using r = await start({ echo: false });
      const ps = await r.join(3);
      ps[0]!.send("one");
      ps[2]!.send("two");
      expect(await ps[1]!.collect(2)).toEqual(["p0 ~ one", "p2 ~ two"]);
      expect(await ps[0]!.next()).toBe("p2 ~ two");
      expect(await ps[2]!.next()).toBe("p0 ~ one");
      expect(await ps[0]!.quiet(100)).toEqual([]);
      expect(await ps[2]!.quiet(0)).toEqual([]);
    });

    test("multi-byte UTF-8 names and text pass through byte for byte", async () => {
      await using r = await start();
      const [a] = await r.join(1);
      const b = await r.stranger();
      b.send("Zoë🦊");
      expect(await b.next()).toBe("[SERVER] Zoë🦊 has joined the chat.");
      expect(await a!.next()).toBe("[SERVER] Zoë🦊 has joined the chat.");
      b.send("grüße, 世界 ✓");
      expect(await a!.next()).toBe("Zoë🦊 ~ grüße, 世界 ✓");
      expect(await b.next()).toBe("Zoë🦊 ~ grüße, 世界 ✓");
    });

    test("lines from several clients arrive in each sender's order", async () => {
      await using r = await start();
      const ps = await r.join(5);
      for (let i = 0; i < 20; i++) for (const [k, p] of ps.entries()) p.send(`m${i}`), void k;
      for (const p of ps) {
        const got = await p.collect(100, 3000);
        expect(got.length).toBe(100);
        for (let k = 0; k < 5; k++) {
          const mine = got.filter((l) => l.startsWith(`p${k} ~ `));
          expect(mine).toEqual(Array.from({ length: 20 }, (_, i) => `p${k} ~ m${i}`));
        }
      }
    });

    test("invalid UTF-8 is refused with a notice and never relayed", async () => {
      await using r = await start();
      const [a, b] = await r.join(2);
      a!.send(new Uint8Array([0x68, 0xff, 0xfe, 0x69]));
      expect(await a!.next()).toBe("[SERVER] Message refused: not valid UTF-8.");
      expect(await b!.quiet(100)).toEqual([]);
      expect(r.stats.drops.invalid_utf8).toBe(1);
    });

    test("a line longer than --max-datagram once prefixed is refused, never cut", async () => {
      await using r = await start({ maxDatagramBytes: 100 });
      const [a, b] = await r.join(2);
      a!.send("x".repeat(96)); // "p0 ~ " is 5 bytes: 101 > 100
      expect(await a!.next()).toBe("[SERVER] Message too long (max 95 bytes).");
      a!.send("y".repeat(95));
      expect(await b!.next()).toBe(`p0 ~ ${"y".repeat(95)}`);
      expect(r.stats.drops.too_long).toBe(1);
    });

    test("empty datagrams are ignored", async () => {
      await using r = await start();
      const [a, b] = await r.join(2);
      a!.send(new Uint8Array(0));
      a!.send("after");
      expect(await b!.next()).toBe("p0 ~ after");
    });
  });

  describe("vanished clients", () => {
    test("live clients lose nothing when others have closed their sockets, and the closed ones cost no send errors", async () => {
      await using r = await start();
      const ps = await r.join(12);
      // Close clients at the start, in the middle and at the end of the packet array.
      const dead = new Set([0, 4, 5, 11]);
      for (const i of dead) ps[i]!.close();
      const live = ps.filter((_, i) => !dead.has(i));
      const rounds = 30;
      for (let i = 0; i < rounds; i++) live[i % live.length]!.send(`line ${i}`);
      for (const p of live) {
        const got = await p.collect(rounds, 3000);
        expect(got).toEqual(Array.from({ length: rounds }, (_, i) => `p${[...Array(12).keys()].filter((k) => !dead.has(k))[i % live.length]} ~ line ${i}`));
      }
      // ICMP error reporting is off (sockopt.ts): a vanished client is one ordinary send, not a failed one.
      expect(r.stats.sendErrors).toBe(process.platform === "linux" ? 0 : r.stats.sendErrors);
      expect(r.stats.dropsTotal).toBe(0);
      expect(r.registry.size).toBe(12);
    });
  });

  describe("failed sends are logged, rate-limited", () => {
    test("one line per period that saw failures, with counts; none for a quiet period", async () => {
      // With ICMP errors off, loopback cannot make a send fail (what remains is ENETUNREACH, EPERM and the like);
      // the fan-out counts failures (test/fanout.test.ts scripts them), so this bumps the counter it would bump.
      const lines: string[] = [];
      // With ICMP errors off, loopback cannot make a send fail (what remains is ENETUNREACH, EPERM and the like);
      // the fan-out counts failures (test/fanout.test.ts scripts them), so this bumps the counter it would bump.
      await using r = await start({}, { log: (l) => void (l.startsWith("[SERVER] Send path:") || lines.push(l)), logEveryMs: 100 });
      r.stats.sendErrors += 3;
      const deadline = performance.now() + 2000;
      while (lines.length === 0 && performance.now() < deadline) await Bun.sleep(20);
      expect(lines).toEqual(["[SERVER] 3 sends failed in the last 0.1 s (refused destinations, or ICMP errors where they could not be turned off); the broadcasts went on past them, 0 datagrams dropped as unsendable"]);
      await Bun.sleep(300); // nothing failed since: nothing more is logged
      expect(lines).toHaveLength(1);
    });
  });

  describe("many clients", () => {
    test("150 clients span several sendMany batches (--send-batch 64): everyone alive gets every line, with and without echo", async () => {
      for (const echo of [true, false]) {
        // 150 clients from one address: past the per-source caps, which --rate-limit 0 lifts.
        await using r = await start({ echo, sendBatchClients: 64, rateLimitPerSecond: 0 });
        const ps = await r.join(150, echo ? "e" : "n");
        const dead = new Set([10, 64, 127, 149]); // in the first, second and last chunk, and the very last slot
        for (const i of dead) ps[i]!.close();
        const senders = [0, 70, 148];
        for (const k of senders) ps[k]!.send(`from ${k}`);
        for (const [i, p] of ps.entries()) {
          if (dead.has(i)) continue;
          const want = senders.filter((k) => echo || k !== i).map((k) => `${echo ? "e" : "n"}${k} ~ from ${k}`);
          expect((await p.collect(want.length, 3000)).sort()).toEqual(want.sort());
        }
      }
    });
  });

  describe("IPv6", () => {
    test("the relay works on ::1", async () => {
      await using r = await start({ host: "::1" });
      expect(r.endpoint).toBe(`[::1]:${r.port}`);
      const ps = await r.join(2, "v", "::1");
      ps[0]!.send("over v6");
      for (const p of ps) expect(await p.next()).toBe("v0 ~ over v6");
    });
  });

  describe("socket buffers", () => {
    test("the kernel buffers asked for are set (Linux grants double, up to its cap)", async () => {
      await using r = await start({ recvBufferBytes: 1 << 20, sendBufferBytes: 256 << 10 });
      if (process.platform !== "linux") return expect(r.sockopts).toBeUndefined();
      expect(r.sockopts!.recvBytes).toBeGreaterThanOrEqual(1 << 20);
      expect(r.sockopts!.sendBytes).toBeGreaterThanOrEqual(256 << 10);
    });
  });
});

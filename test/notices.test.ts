// Notices are fan-out too: join/leave/rename/timeout storms are summarised, renames paced, one host cannot fill
// the server, and a relay never answers another relay. Default --notice-rate (3 a second by name) throughout.

import { describe, expect, test } from "bun:test";
import { RENAME_BURST } from "../src/chat.ts";
import type { Peer } from "./support/peer.ts";
import { startTestRelay } from "./support/relays.ts";

const DEFAULT_NOTICES = { noticesPerSecond: 3 } as const;

/** A raw socket bound to `host` (any loopback address) that records what it receives; closed with `using`. */
async function listener(host: string): Promise<{ socket: Bun.udp.Socket<"buffer">; inbox: string[] } & Disposable> {
  const inbox: string[] = [];
  const socket = await Bun.udpSocket({ hostname: host, socket: { data: (_s, d) => void inbox.push(d.toString()), error() {} } });
  return { socket, inbox, [Symbol.dispose]: () => socket.close() };
}

/** Joins `count` peers, each waiting only for its own join line (the others may hear a summary instead). */
async function joinEach(r: { stranger(): Promise<Peer> }, count: number, prefix: string): Promise<Peer[]> {
  const ps: Peer[] = [];
  for (let i = 0; i < count; i++) {
    const p = await r.stranger();
    p.send(`${prefix}${i}`);
    expect(await p.until((l) => l.startsWith("[SERVER] ") && l.endsWith(" has joined the chat."))).toBe(`[SERVER] ${prefix}${i} has joined the chat.`);
    ps.push(p);
  }
  return ps;
}

async function until(done: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!done() && performance.now() < deadline) await Bun.sleep(5);
  return done();
}

describe("notice storms", () => {
  test("a lone join and a lone /quit read exactly as they always have", async () => {
    await using r = await startTestRelay(DEFAULT_NOTICES);
    const a = await r.stranger();
    a.send("alice");
    expect(await a.next()).toBe("[SERVER] alice has joined the chat.");
    const b = await r.stranger();
    b.send("bob");
    expect(await b.next()).toBe("[SERVER] bob has joined the chat.");
    expect(await a.next()).toBe("[SERVER] bob has joined the chat.");
    b.send("/quit");
    expect(await a.next()).toBe("[SERVER] bob has left the chat.");
    expect(await a.quiet(1200)).toEqual([]); // no summary follows
  });

  test("a join storm: every joiner hears its own join at once; the others hear 3 by name, then one summary", async () => {
    await using r = await startTestRelay(DEFAULT_NOTICES);
    const [watcher] = await joinEach(r, 1, "w");
    await Bun.sleep(1100); // a fresh window
    const t0 = performance.now();
    await joinEach(r, 30, "j");
    const windows = Math.ceil((performance.now() - t0) / 1000) + 1;
    const heard = await watcher!.quiet(1500);
    // Every joiner is announced exactly once, by name or in a summary; far fewer notices than joins.
    const named = heard.filter((l) => /^\[SERVER\] j\d+ has joined the chat\.$/.test(l)).map((l) => l.split(" ")[1]!);
    const summaries = heard.filter((l) => /^\[SERVER\] \d+ more have joined the chat: /.test(l));
    const summed = summaries.flatMap((l) => l.slice(l.indexOf(": ") + 2, -1).split(", "));
    expect([...named, ...summed].sort()).toEqual(Array.from({ length: 30 }, (_, i) => `j${i}`).sort());
    expect(heard).toHaveLength(named.length + summaries.length);
    expect(named.length).toBeLessThanOrEqual(3 * windows);
    expect(summaries.length).toBeLessThanOrEqual(windows);
    expect(heard.slice(0, 3)).toEqual(["[SERVER] j0 has joined the chat.", "[SERVER] j1 has joined the chat.", "[SERVER] j2 has joined the chat."]);
  });

  test("a leave storm: 3 by name, then '[SERVER] N more have left the chat.' once", async () => {
    await using q = await startTestRelay(DEFAULT_NOTICES);
    const [watcher] = await q.join(1, "w");
    const leavers = await joinEach(q, 20, "l");
    await watcher!.until((l) => l.includes("more have joined"), 3000);
    await Bun.sleep(1100);
    watcher!.inbox.length = 0;
    for (const p of leavers) p.send("/quit");
    const got = await watcher!.collect(4, 3000);
    expect(got.slice(0, 3)).toEqual(["[SERVER] l0 has left the chat.", "[SERVER] l1 has left the chat.", "[SERVER] l2 has left the chat."]);
    expect(got[3]).toBe(`[SERVER] 17 more have left the chat: ${Array.from({ length: 17 }, (_, i) => `l${i + 3}`).join(", ")}.`);
    expect(q.registry.size).toBe(1);
  });

  test("join/quit churn from one host with 100 listeners: datagrams out stay within 5x datagrams in", async () => {
    await using r = await startTestRelay(DEFAULT_NOTICES);
    // 100 listeners on four other loopback addresses (25 each: within --max-clients-per-ip).
    using stack = new DisposableStack();
    for (let i = 0; i < 100; i++) {
      const l = stack.use(await listener(`127.0.0.${2 + (i % 4)}`));
      l.socket.send(`listener${i}`, r.port, "127.0.0.1");
    }
    expect(await until(() => r.registry.size === 100, 10_000)).toBe(true);
    await Bun.sleep(1100); // the listeners' own join summary is out
    const in0 = r.stats.datagramsIn;
    const out0 = r.stats.deliveries;
    const deadline = performance.now() + 2000;
    for (let i = 0; i < 2000 && performance.now() < deadline; i++) {
      using c = await listener("127.0.0.1");
      c.socket.send(`churn${i}`, r.port, "127.0.0.1");
      if (await until(() => c.inbox.length > 0, 100)) c.socket.send("/quit", r.port, "127.0.0.1");
    }
    await Bun.sleep(1100); // the last summary
    const datagramsIn = r.stats.datagramsIn - in0;
    const datagramsOut = r.stats.deliveries - out0;
    expect(datagramsIn).toBeGreaterThan(100);
    expect(datagramsOut).toBeLessThanOrEqual(5 * datagramsIn);
  });
});

describe("renames", () => {
  test(`a client may rename ${RENAME_BURST} times at once, then is told when to try again`, async () => {
    await using r = await startTestRelay(DEFAULT_NOTICES);
    const [a] = await r.join(1);
    for (let i = 0; i < RENAME_BURST; i++) {
      a!.send(`/nick n${i}`);
      await a!.until((l) => l.includes(`is now known as n${i}.`) || l.startsWith("[SERVER] 1 more have changed"), 4000);
    }
    a!.send("/nick toomany");
    expect(await a!.until((l) => l.startsWith("[SERVER] Name refused:"))).toMatch(/^\[SERVER\] Name refused: you renamed too often; try again in \d+ s\.$/);
    expect(r.stats.drops.rename_limited).toBe(1);
  });

  test("a /nick loop is bounded by --max-fanout-rate: renames are notices to everyone, charged to the budget", async () => {
    await using r = await startTestRelay({ ...DEFAULT_NOTICES, maxFanoutPerSecond: 200, rateLimitPerSecond: 0 });
    const ps = await joinEach(r, 20, "c");
    await Bun.sleep(1100);
    const out0 = r.stats.deliveries;
    // 20 clients rename in a loop for 1.5 s (each paced by its rename allowance and told so).
    const t0 = performance.now();
    for (let round = 0; performance.now() - t0 < 1500 && round < 100; round++) {
      for (const [i, p] of ps.entries()) p.send(`/nick c${i}r${round}`);
      await Bun.sleep(20);
    }
    await Bun.sleep(1100);
    const deliveries = r.stats.deliveries - out0;
    // Unbounded, ~1500 renames × 20 recipients = 30 000. Bounded: a few named notices and summaries a second
    // within 200 deliveries a second, plus one refusal to the renamer for each rename refused.
    expect(deliveries - r.stats.drops.rename_limited).toBeLessThanOrEqual(200 * 3 + 20);
    expect(r.stats.drops.rename_limited).toBeGreaterThan(0);
  });
});

describe("one host cannot fill the server", () => {
  test("past --max-clients-per-ip a newcomer is told; another address still joins; --rate-limit 0 lifts it", async () => {
    await using r = await startTestRelay({ maxClients: 10, maxClientsPerIp: 3 });
    await r.join(3);
    const fourth = await r.stranger();
    fourth.send("greedy");
    expect(await fourth.next()).toBe("[SERVER] Too many clients from your address or network.");
    expect(r.stats.drops.source_full).toBe(1);
    using other = await listener("127.0.0.2");
    other.socket.send("neighbour", r.port, "127.0.0.1");
    expect(await until(() => other.inbox.includes("[SERVER] neighbour has joined the chat."), 2000)).toBe(true);

    await using lifted = await startTestRelay({ maxClients: 10, maxClientsPerIp: 3, rateLimitPerSecond: 0 });
    expect(await lifted.join(5)).toHaveLength(5);
  });

  test("past --max-clients-per-net (the /24) addresses of the same network are refused too", async () => {
    await using r = await startTestRelay({ maxClientsPerIp: 10, maxClientsPerNet: 2 });
    using a = await listener("127.0.0.2");
    using b = await listener("127.0.0.3");
    using c = await listener("127.0.0.4");
    for (const [l, n] of [[a, "a"], [b, "b"], [c, "c"]] as const) l.socket.send(n, r.port, "127.0.0.1");
    expect(await until(() => a.inbox.length > 0 && b.inbox.length > 0 && c.inbox.length > 0, 2000)).toBe(true);
    const refused = [a, b, c].filter((l) => l.inbox[0] === "[SERVER] Too many clients from your address or network.");
    expect(refused).toHaveLength(1);
    expect(r.registry.size).toBe(2);
  });
});

describe("never answer a relay with a relay", () => {
  test("a datagram that speaks as the server is dropped unanswered; one reply a second per source", async () => {
    await using r = await startTestRelay();
    const s = await r.stranger();
    s.send("[SERVER] alice has joined the chat.");
    expect(await s.quiet(200)).toEqual([]);
    expect(r.stats.drops.server_tag).toBe(1);
    for (let i = 0; i < 5; i++) s.send("/bad name"); // refused: starts with /
    expect(await s.quiet(300)).toEqual(["[SERVER] Name refused: it may not start with /. Send another name."]);
    expect(r.stats.drops.reply_limited).toBe(4);
  });

  test("two relays and a datagram spoofed from one to the other go quiet at once", async () => {
    const probe = Bun.spawnSync(["python3", "-c", "import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)"], { stderr: "pipe" });
    if (probe.exitCode !== 0) {
      console.warn(`skipped: a raw socket is needed to spoof a source port (${probe.stderr.toString().trim().split("\n").at(-1)})`);
      return;
    }
    await using a = await startTestRelay();
    await using b = await startTestRelay();
    // From B's port to A, on 127.0.0.1: A will answer B. The name is a refused one, the worst case.
    const spoof = (text: string, fromPort: number, toPort: number) => {
      const py = `import socket,struct,sys
p=sys.argv[3].encode()
s=socket.socket(socket.AF_INET,socket.SOCK_RAW,socket.IPPROTO_UDP)
s.sendto(struct.pack('!HHHH',int(sys.argv[1]),int(sys.argv[2]),8+len(p),0)+p,('127.0.0.1',0))`;
      expect(Bun.spawnSync(["python3", "-c", py, String(fromPort), String(toPort), text]).exitCode).toBe(0);
    };
    for (const text of ["/refused", "alice"]) spoof(text, b.port, a.port);
    await Bun.sleep(1000);
    // A answered each spoof once; B dropped both answers ([SERVER]...) and said nothing back.
    expect(a.stats.datagramsIn).toBe(2);
    expect(b.stats.datagramsIn).toBe(2);
    expect(b.stats.drops.server_tag).toBe(2);
    expect(b.stats.deliveries).toBe(0);
  });
});

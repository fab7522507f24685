// Commands, name rules and text rules against a real relay over loopback.

import { describe, expect, test } from "bun:test";
import { startTestRelay } from "./support/relays.ts";

describe("commands", () => {
  test("/quit: the others hear it, the leaver hears nothing more, its next datagram is a name again", async () => {
    await using r = await startTestRelay();
    const [a, b, c] = await r.join(3);
    b!.send("/quit");
    expect(await a!.next()).toBe("[SERVER] p1 has left the chat.");
    expect(await c!.next()).toBe("[SERVER] p1 has left the chat.");
    a!.send("still here");
    expect(await a!.next()).toBe("p0 ~ still here");
    expect(await b!.quiet(100)).toEqual([]);
    expect(r.registry.size).toBe(2);
    b!.send("p1 again");
    expect(await b!.next()).toBe("[SERVER] p1 again has joined the chat.");
  });

  test("/nick: everyone hears the rename and later lines carry the new name", async () => {
    await using r = await startTestRelay();
    const [a, b] = await r.join(2);
    a!.send("/nick Ann Lee");
    for (const p of [a!, b!]) expect(await p.next()).toBe("[SERVER] p0 is now known as Ann Lee.");
    a!.send("hello");
    expect(await b!.next()).toBe("Ann Lee ~ hello");
    expect(r.registry.findByName("p0")).toBeUndefined();
  });

  test("/nick refuses a taken name (ignoring case), a bad one, and the name you have; a change of case is allowed", async () => {
    await using r = await startTestRelay();
    const [a, b] = await r.join(2);
    a!.send("/nick P1");
    expect(await a!.next()).toBe("[SERVER] Name refused: P1 is taken.");
    a!.send("/nick [SERVER]");
    expect(await a!.next()).toBe("[SERVER] Name refused: it could pass for the server.");
    a!.send("/nick p0");
    expect(await a!.next()).toBe("[SERVER] You are already called p0.");
    a!.send("/nick");
    expect(await a!.next()).toBe("[SERVER] Usage: /nick NEW");
    a!.send("/nick P0");
    expect(await b!.next()).toBe("[SERVER] p0 is now known as P0.");
  });

  test("/who: only the requester gets the count and the names", async () => {
    await using r = await startTestRelay();
    const [a, b] = await r.join(3);
    b!.send("/who");
    expect(await b!.next()).toBe("[SERVER] Online (3): p0, p1, p2");
    expect(await a!.quiet(100)).toEqual([]);
  });

  test("/who is split over several datagrams when the list does not fit in one", async () => {
    const max = 120;
    await using r = await startTestRelay({ maxDatagramBytes: max });
    const ps = await r.join(30, "client-");
    ps[0]!.send("/who");
    const parts = await ps[0]!.collect(4, 1000);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) expect(new TextEncoder().encode(part).length).toBeLessThanOrEqual(max);
    expect(parts[0]!.startsWith("[SERVER] Online (30): ")).toBe(true);
    for (const part of parts.slice(1)) expect(part.startsWith("[SERVER] Online (30, continued): ")).toBe(true);
    const names = parts.flatMap((p) => p.slice(p.indexOf("): ") + 3).split(", "));
    expect(names.sort()).toEqual(Array.from({ length: 30 }, (_, i) => `client-${i}`).sort());
  });

  test("/msg: the recipient and the sender get it, nobody else; names with spaces work", async () => {
    await using r = await startTestRelay();
    const [a, b, c] = await r.join(3);
    c!.send("/nick Ann Lee");
    for (const p of [a!, b!, c!]) await p.until((l) => l.endsWith("is now known as Ann Lee."));
    a!.send("/msg ann lee psst, over here");
    expect(await c!.next()).toBe("p0 (private) ~ psst, over here");
    expect(await a!.next()).toBe("p0 (private) ~ psst, over here");
    expect(await b!.quiet(100)).toEqual([]);
  });

  test("/msg to someone who is not here, or without text, tells only the sender", async () => {
    await using r = await startTestRelay();
    const [a, b] = await r.join(2);
    a!.send("/msg nobody hi");
    expect(await a!.next()).toBe("[SERVER] No one called nobody is here. /who lists who is.");
    a!.send("/msg p1");
    expect(await a!.next()).toBe("[SERVER] Usage: /msg NAME TEXT");
    expect(await b!.quiet(100)).toEqual([]);
  });

  test("/me: everyone gets `* name ACTION`", async () => {
    await using r = await startTestRelay();
    const ps = await r.join(3);
    ps[2]!.send("/me waves\n");
    for (const p of ps) expect(await p.next()).toBe("* p2 waves");
  });

  test("/ping: only the requester gets pong", async () => {
    await using r = await startTestRelay();
    const [a, b] = await r.join(2);
    a!.send("/ping");
    expect(await a!.next()).toBe("[SERVER] pong");
    expect(await b!.quiet(100)).toEqual([]);
  });

  test("/help lists every command; an unknown one points to /help", async () => {
    await using r = await startTestRelay();
    const [a] = await r.join(1);
    a!.send("/help");
    const help = await a!.collect(8, 1000);
    for (const c of ["/nick", "/who", "/msg", "/me", "/ping", "/quit", "/help"]) expect(help.some((l) => l.includes(c))).toBe(true);
    a!.send("/dance");
    expect(await a!.next()).toBe("[SERVER] Unknown command /dance. Type /help for the list.");
  });

  test("//x sends the literal text /x", async () => {
    await using r = await startTestRelay();
    const [a, b] = await r.join(2);
    a!.send("//shrug");
    expect(await b!.next()).toBe("p0 ~ /shrug");
  });

  test("commands are case-insensitive and obey the text rules", async () => {
    await using r = await startTestRelay();
    const [a, b] = await r.join(2);
    a!.send("/PING");
    expect(await a!.next()).toBe("[SERVER] pong");
    a!.send("/me \x1b[2Jclears your screen");
    expect(await a!.next()).toBe("[SERVER] Message refused: control characters are not allowed (tab is).");
    expect(await b!.quiet(100)).toEqual([]);
  });
});

describe("names", () => {
  const refusals: [string, string, string][] = [
    ["too long", "x".repeat(33), "[SERVER] Name refused: longer than 32 characters. Send another name."],
    ["control characters", "ev\x1bil", "[SERVER] Name refused: no control or invisible formatting characters. Send another name."],
    ["the separator", "a ~ b", '[SERVER] Name refused: it may not contain " ~ ". Send another name.'],
    ["the server", "[Server] admin", "[SERVER] Name refused: it could pass for the server. Send another name."],
    ["server", "Server", "[SERVER] Name refused: it could pass for the server. Send another name."],
    ["taken, ignoring case", "P0", "[SERVER] Name refused: P0 is taken. Send another name."],
    ["a command", "/who", "[SERVER] Name refused: it may not start with /. Send another name."],
    ["invalid UTF-8", "\xff", "[SERVER] Name refused: not valid UTF-8. Send another name."],
  ];
  for (const [label, name, why] of refusals) {
    test(`refused: ${label}; the next datagram is tried as a name`, async () => {
      await using r = await startTestRelay();
      const [a] = await r.join(1);
      const s = await r.stranger();
      s.send(name === "\xff" ? new Uint8Array([0xff]) : name);
      expect(await s.next()).toBe(why);
      expect(r.registry.size).toBe(1);
      s.send("fine name");
      expect(await s.next()).toBe("[SERVER] fine name has joined the chat.");
      expect(await a!.next()).toBe("[SERVER] fine name has joined the chat.");
    });
  }

  test("a name is trimmed and may be 32 characters of 4 bytes each", async () => {
    await using r = await startTestRelay();
    const s = await r.stranger();
    s.send(`  ${"🦊".repeat(32)}\r\n`);
    expect(await s.next()).toBe(`[SERVER] ${"🦊".repeat(32)} has joined the chat.`);
  });

  test("a whitespace-only first datagram is ignored", async () => {
    await using r = await startTestRelay();
    const s = await r.stranger();
    s.send(" \n");
    s.send("eve");
    expect(await s.next()).toBe("[SERVER] eve has joined the chat.");
  });
});

describe("text", () => {
  test("nc's trailing newline (and CRLF) is dropped, tabs pass", async () => {
    await using r = await startTestRelay();
    const [a, b] = await r.join(2);
    a!.send("one\n");
    a!.send("two\r\n");
    a!.send("a\tb");
    expect(await b!.collect(3)).toEqual(["p0 ~ one", "p0 ~ two", "p0 ~ a\tb"]);
  });

  test("whitespace-only lines are ignored", async () => {
    await using r = await startTestRelay();
    const [a, b] = await r.join(2);
    a!.send("   ");
    a!.send(" \t\n");
    a!.send("after");
    expect(await b!.next()).toBe("p0 ~ after");
    expect(r.stats.drops.empty).toBe(2);
  });

  test("control characters never reach the others: the sender is told", async () => {
    await using r = await startTestRelay();
    const [a, b] = await r.join(2);
    for (const bad of ["\x1b[31mred", "ding\x07", "line\nbreak", "over\rwrite", "del\x7f", "csi\u009b2J"]) {
      a!.send(bad);
      expect(await a!.next()).toBe("[SERVER] Message refused: control characters are not allowed (tab is).");
    }
    expect(await b!.quiet(100)).toEqual([]);
    expect(r.stats.drops.control_chars).toBe(6);
  });

  test("a line that fits only without its newline is relayed", async () => {
    await using r = await startTestRelay({ maxDatagramBytes: 100 });
    const [a, b] = await r.join(2);
    a!.send(`${"y".repeat(95)}\n`); // "p0 ~ " + 95 = 100
    expect(await b!.next()).toBe(`p0 ~ ${"y".repeat(95)}`);
  });
});

describe("capacity", () => {
  test("--max-clients: a newcomer beyond it is told the server is full and not registered", async () => {
    await using r = await startTestRelay({ maxClients: 2 });
    const [a] = await r.join(2);
    const s = await r.stranger();
    s.send("third");
    expect(await s.next()).toBe("[SERVER] Server is full.");
    expect(r.registry.size).toBe(2);
    expect(r.stats.drops.server_full).toBe(1);
    a!.send("/quit");
    await Bun.sleep(20);
    s.send("third");
    expect(await s.next()).toBe("[SERVER] third has joined the chat.");
  });
});

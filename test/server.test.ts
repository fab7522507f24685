// The server as a real process: startup line, signals, exit codes, flag and bind errors.

import { describe, expect, test } from "bun:test";
import { closeSync, constants, openSync } from "node:fs";
import { join } from "node:path";
import { type Peer, peer } from "./support/peer.ts";
import { endedOnDispose, endProcess } from "./support/process.ts";
import { bun, root, runScript, spawnServer } from "./support/server-process.ts";
import { tempDir } from "./support/temp-dir.ts";

/** A loopback UDP port nothing listens on: bound, read, closed. */
async function freePort(): Promise<number> {
  const probe = await Bun.udpSocket({ hostname: "127.0.0.1" });
  const port = probe.port;
  probe.close();
  return port;
}

/** Joins `name` to a relay process that may still be starting: the name is re-sent until the join comes back (bounded). */
async function joinSpawned(p: Peer, name: string): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    p.send(name);
    if ((await p.collect(1, 100)).includes(`[SERVER] ${name} has joined the chat.`)) return true;
  }
  return false;
}

describe("signals", () => {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    test(`${signal}: clients hear the shutdown notice, the summary is printed, exit 0`, async () => {
      await using server = await spawnServer();
      using alice = await peer(server.port);
      alice.send("alice");
      expect(await alice.next()).toBe("[SERVER] alice has joined the chat.");
      alice.send("bye all");
      expect(await alice.next()).toBe("alice ~ bye all");
      const { code, stdout, stderr } = await server.stop(signal);
      expect(await alice.next()).toBe("[SERVER] Server is shutting down.");
      expect(code).toBe(0);
      expect(stdout).toContain("[SERVER] alice has joined the chat.");
      expect(stdout).toContain("alice ~ bye all");
      expect(stderr).toMatch(/^\[SERVER\] Summary: clients=1 datagrams_in=2 lines=1 deliveries=3 drops=0 /m);
    });
  }

  test("--quiet prints no per-message lines", async () => {
    await using server = await spawnServer(["--quiet"]);
    using alice = await peer(server.port);
    alice.send("alice");
    await alice.next();
    alice.send("secret");
    await alice.next();
    const { code, stdout } = await server.stop();
    expect(code).toBe(0);
    expect(stdout).not.toContain("secret");
  });
});

describe("console", () => {
  test("a console that stops reading never stalls the relay: lines are dropped and counted instead", async () => {
    // stdout is a FIFO that nobody reads: after the kernel's 64 KiB, every write would block.
    using dir = tempDir("relay-console-");
    const fifo = join(dir.path, "stdout");
    Bun.spawnSync(["mkfifo", fifo]);
    using fds = new DisposableStack();
    fds.adopt(openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK), closeSync); // the read end, held open and never read
    const writeEnd = openSync(fifo, "w");
    const port = await freePort();
    await using proc = endedOnDispose(Bun.spawn([bun, "run", "src/server.ts", "--port", String(port), "--rate-limit", "0"], { cwd: root, stdout: writeEnd, stderr: "pipe" }));
    closeSync(writeEnd);
    using alice = await peer(port);
    expect(await joinSpawned(alice, "alice")).toBe(true);
    const text = "x".repeat(500);
    let delivered = 0;
    for (let batch = 0; batch < 25; batch++) {
      for (let i = 0; i < 100; i++) alice.send(`${batch}.${i} ${text}`);
      delivered += (await alice.collect(100, 3000)).length;
    }
    expect(delivered).toBe(2500);
    const [code, stderr] = await Promise.all([endProcess(proc, "SIGINT", 10_000), new Response(proc.stderr).text()]);
    expect(code).toBe(0);
    expect(Number(/console_dropped=(\d+)/.exec(stderr)?.[1] ?? 0)).toBeGreaterThan(0);
  });
});

test("a console that went away (stdout closed: EPIPE, as when piped into head) never stops the relay", async () => {
  const port = await freePort();
  await using proc = endedOnDispose(Bun.spawn([bun, "run", "src/server.ts", "--port", String(port)], { cwd: root, stdout: "pipe", stderr: "pipe" }));
  await proc.stdout.cancel(); // the reader is gone: the relay's next write to stdout gets EPIPE
  using alice = await peer(port);
  expect(await joinSpawned(alice, "alice")).toBe(true);
  for (let i = 0; i < 20; i++) {
    alice.send(`line ${i}`);
    expect(await alice.until((l) => l === `alice ~ line ${i}`, 2000)).toBe(`alice ~ line ${i}`);
  }
  const [code, stderr] = await Promise.all([endProcess(proc, "SIGINT", 10_000), new Response(proc.stderr).text()]);
  expect(stderr).not.toContain("EPIPE");
  expect(code).toBe(0);
  expect(stderr).toMatch(/^\[SERVER\] Summary: clients=1 /m);
});

describe("startup", () => {
  test("--port 0 prints the port the OS chose; a plain relay says nothing about workers or a bus", async () => {
    await using server = await spawnServer();
    expect(server.port).toBeGreaterThan(0);
    expect(server.lines[0]).toBe(`[SERVER] Running on 127.0.0.1:${server.port}`);
    const { stdout } = await server.stop();
    expect(stdout).not.toMatch(/Workers:|Bus:/);
  });

  test("--workers 2: the Running line stays first, the second says the workers are in force", async () => {
    await using server = await spawnServer(["--workers", "2", "--quiet"]);
    const deadline = performance.now() + 5000;
    while (server.lines.length < 2 && performance.now() < deadline) await Bun.sleep(10);
    expect(server.lines.slice(0, 2)).toEqual([`[SERVER] Running on 127.0.0.1:${server.port}`, "[SERVER] Workers: 2 threads sharing the port (SO_REUSEPORT)"]);
  });

  test("RELAY_* environment variables configure the server", async () => {
    const res = await runScript("server.ts", ["--help"], 10_000, { RELAY_PORT: "not-a-port" });
    expect(res.code).toBe(0); // --help wins before values are checked
    const bad = await runScript("server.ts", [], 10_000, { RELAY_PORT: "not-a-port" });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--port: "not-a-port"');
  });

  test("a port in use: one line naming host:port, exit 1", async () => {
    using sockets = new DisposableStack();
    const taken = sockets.adopt(await Bun.udpSocket({ hostname: "127.0.0.1" }), (s) => s.close());
    const res = await runScript("server.ts", ["--port", String(taken.port)]);
    expect(res.code).toBe(1);
    expect(res.stderr.trim()).toBe(`error: cannot listen on 127.0.0.1:${taken.port}: address already in use`);
  });

  test("an address this host does not have: exit 1, no stack trace", async () => {
    const res = await runScript("server.ts", ["--host", "192.0.2.1", "--port", "0"]);
    expect(res.code).toBe(1);
    expect(res.stderr.trim()).toBe("error: cannot listen on 192.0.2.1:0: address not available on this host");
  });

  test.each([
    [["--bogus"], "Unknown option '--bogus'"],
    [["--port", "70000"], '--port: "70000" is not a whole number from 0 to 65535'],
    [["--port", "12ab"], '--port: "12ab"'],
    [["--max-datagram", "10"], "--max-datagram"],
    [["--host", "example.com"], '--host: "example.com" is not an IP address'],
  ])("bad flags %p: one-line error and a pointer to --help, exit 2", async (args, message) => {
    const res = await runScript("server.ts", args);
    expect(res.code).toBe(2);
    expect(res.stderr.split("\n")[0]).toContain(message);
    expect(res.stderr.split("\n").slice(1)).toEqual(["Try 'bun run src/server.ts --help'.", ""]);
  });

  test("--help prints usage to stdout, exit 0", async () => {
    const res = await runScript("server.ts", ["--help"]);
    expect(res.code).toBe(0);
    for (const flag of ["--host", "--port", "--max-datagram", "--no-echo", "--quiet"]) expect(res.stdout).toContain(flag);
  });
});

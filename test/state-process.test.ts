// --state across real restarts: SIGTERM, kill -9, a writer killed mid-write, and bad files moved aside (issue 14).

import { expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { notice } from "../src/protocol/wire.ts";
import { encodeState } from "../src/state.ts";
import { loadStateFile } from "../src/state-file.ts";
import { endedOnDispose, readLines } from "./support/process.ts";
import { type Peer, peer } from "./support/peer.ts";
import { bun, root, spawnServer } from "./support/server-process.ts";
import { tempDir } from "./support/temp-dir.ts";

const stateLines = (text: string) => text.split("\n").filter((l) => l.startsWith("[SERVER] state file"));

/** Joins `name` and waits for its own join notice. */
async function joinAs(p: Peer, name: string): Promise<void> {
  p.send(name);
  await p.until((l) => l === notice.joined(name));
}

/** After a restart: each peer's next line is relayed under its old name, nobody is renamed, /who lists both. */
async function expectBack(alice: Peer, bob: Peer): Promise<void> {
  alice.send("hello everyone, I'm back");
  await alice.until((l) => l === "alice ~ hello everyone, I'm back");
  bob.send("hi");
  await bob.until((l) => l === "bob ~ hi");
  await alice.until((l) => l === "bob ~ hi");
  bob.send("/who");
  expect(await bob.until((l) => l.startsWith("[SERVER] Online"))).toBe("[SERVER] Online (2): alice, bob");
}

test("restart: SIGTERM, start again with the same file, and each client's next line goes out under its old name", async () => {
  using dir = tempDir("state-");
  const file = join(dir.path, "relay.state");
  const first = await spawnServer(["--state", file]);
  using alice = await peer(first.port);
  using bob = await peer(first.port);
  await joinAs(alice, "alice");
  await joinAs(bob, "bob");
  const { code, stderr } = await first.stop("SIGTERM");
  expect(code).toBe(0);
  expect(stateLines(stderr)).toEqual([]);
  await alice.until((l) => l === notice.shuttingDown);
  const saved = readFileSync(file, "utf8");
  expect(saved).toContain(`"name":"alice","address":"127.0.0.1","port":${alice.port}`);
  expect(saved).toContain(`"name":"bob","address":"127.0.0.1","port":${bob.port}`);

  await using second = await spawnServer(["--state", file, "--port", String(first.port)]);
  await expectBack(alice, bob);
  const after = await second.stop("SIGTERM");
  expect(after.stdout).not.toContain("I'm back has joined");
  expect(after.stdout).not.toContain("hi has joined");
  expect(after.stderr).toContain(`2 of 2 clients from ${file} remembered`);
});

test("crash: kill -9 after one interval, start again: the same", async () => {
  using dir = tempDir("state-");
  const file = join(dir.path, "relay.state");
  const first = await spawnServer(["--state", file, "--state-interval", "0.1"]);
  using alice = await peer(first.port);
  using bob = await peer(first.port);
  await joinAs(alice, "alice");
  await joinAs(bob, "bob");
  await Bun.sleep(400);
  await first.stop("SIGKILL");
  expect(await alice.quiet(100)).not.toContain(notice.shuttingDown);
  await using second = await spawnServer(["--state", file, "--port", String(first.port)]);
  await expectBack(alice, bob);
  expect(stateLines((await second.stop()).stderr)).toEqual([]);
});

test("a writer killed between its temporary file and the rename leaves the old file, which loads", async () => {
  using dir = tempDir("state-");
  const file = join(dir.path, "relay.state");
  const port = await freePort();
  using alice = await peer(port);
  using bob = await peer(port);
  const writer = Bun.spawn([bun, "run", "test/fixtures/state-writer.ts", file, "kill-before-rename", `alice=${alice.port}`, `bob=${bob.port}`], { cwd: root });
  await writer.exited;
  expect(writer.signalCode).toBe("SIGKILL");
  expect(readFileSync(`${file}.tmp`, "utf8")).toContain("alice1"); // the new one, never renamed
  await using relay = await spawnServer(["--state", file, "--port", String(port)]);
  await expectBack(alice, bob);
  expect(stateLines((await relay.stop()).stderr)).toEqual([]);
});

test("a writer killed at random moments always leaves a whole file: the old one or the new one", async () => {
  using dir = tempDir("state-");
  const file = join(dir.path, "relay.state");
  const limits = { maxNameChars: 32, maxDatagramBytes: 2048, maxClients: 100, rememberedNames: 100 };
  const logged: string[] = [];
  for (let i = 0; i < 6; i++) {
    await using writer = endedOnDispose(Bun.spawn([bun, "run", "test/fixtures/state-writer.ts", file, "loop", "ann=1000", "bo=1001"], { cwd: root, stdout: "pipe" }));
    const out: string[] = [];
    void readLines(writer.stdout, out);
    const deadline = performance.now() + 5000;
    while (out.length === 0 && performance.now() < deadline) await Bun.sleep(5);
    await Bun.sleep(Math.random() * 30);
    writer.kill("SIGKILL");
    await writer.exited;
    const loaded = loadStateFile(file, limits, 3_600_000, (l) => logged.push(l));
    expect(loaded.entries).toBe(2);
  }
  expect(logged).toEqual([]);
});

test("a truncated file is moved aside with one line on stderr, and the relay starts empty", async () => {
  using dir = tempDir("state-");
  const file = join(dir.path, "relay.state");
  const text = encodeState({ writtenMs: Date.now(), clients: [{ name: "mallory", address: "127.0.0.1", port: 9, seenMs: Date.now() }], away: [] }, 32);
  writeFileSync(file, text);
  truncateSync(file, text.length - 10);
  await expectRefused(dir.path, file, /not JSON/, readFileSync(file));
});

const hostile: [string, () => string | Uint8Array, RegExp][] = [
  ["corrupt", () => "\u0000\u0001garbage{{{\n", /not a relay state file/],
  ["not UTF-8", () => new Uint8Array([0xff, 0xfe, 0x0a]), /not UTF-8/],
  ["wrong version", () => `{"format":"udp-relay-state","version":9,"maxName":32}\n`, /version 9/],
  ["another --max-name", () => encodeState({ writtenMs: Date.now(), clients: [], away: [] }, 16), /--max-name 16/],
  [
    "a name with control characters",
    () => encodeState({ writtenMs: Date.now(), clients: [{ name: "evil\u001b[2J\u0007", address: "127.0.0.1", port: 9, seenMs: Date.now() }], away: [] }, 32),
    /could not join/,
  ],
  [
    "100 000 duplicate addresses",
    () => {
      const at = { address: "127.0.0.1", port: 9 };
      const clients = Array.from({ length: 50_000 }, (_, i) => ({ ...at, name: `x${i}`, seenMs: Date.now() }));
      const away = Array.from({ length: 50_000 }, (_, i) => ({ ...at, name: `y${i}`, timedOutMs: Date.now() }));
      return encodeState({ writtenMs: Date.now(), clients, away }, 32);
    },
    /appears twice/,
  ],
];

for (const [what, content, problem] of hostile) {
  test(`${what}: one line on stderr, moved aside, relay starts, nothing from it relayed`, async () => {
    using dir = tempDir("state-");
    const file = join(dir.path, "relay.state");
    writeFileSync(file, content());
    await expectRefused(dir.path, file, problem, readFileSync(file));
  });
}

test("a file of 10 million entries' size is refused by its size, unread", async () => {
  using dir = tempDir("state-");
  const file = join(dir.path, "relay.state");
  writeFileSync(file, "");
  truncateSync(file, 10_000_000 * 80); // sparse: nothing to read, and nothing is
  const started = performance.now();
  await expectRefused(dir.path, file, /800000000 bytes, more than the \d+ a relay with --max-clients 65536 writes; not read/);
  expect(performance.now() - started).toBeLessThan(15_000);
});

test("a state file in a directory that does not exist: the relay says so at start and exits 1", async () => {
  using dir = tempDir("state-");
  const file = join(dir.path, "missing", "relay.state");
  const proc = Bun.spawn([bun, "run", "src/server.ts", "--port", "0", "--state", file], { cwd: root, stdout: "pipe", stderr: "pipe" });
  const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  expect(code).toBe(1);
  expect(stderr).toContain(`error: cannot write state file ${file}: ENOENT`);
});

/** Starts a relay on `file`: it must run, log exactly one line naming the file and `problem`, and move the file aside intact. */
async function expectRefused(dirPath: string, file: string, problem: RegExp, original?: Buffer): Promise<void> {
  await using relay = await spawnServer(["--state", file]);
  using p = await peer(relay.port);
  await joinAs(p, "zed");
  expect(await p.quiet(200)).toEqual([]);
  const { stdout, stderr } = await relay.stop("SIGTERM");
  const lines = stateLines(stderr);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toStartWith(`[SERVER] state file ${file}: `);
  expect(lines[0]).toMatch(problem);
  expect(lines[0]).toContain("moved aside to ");
  const aside = readdirSync(dirPath).filter((f) => f.startsWith("relay.state.bad-"));
  expect(aside).toHaveLength(1);
  if (original !== undefined) expect(readFileSync(join(dirPath, aside[0]!)).equals(original)).toBe(true);
  // Nothing from the file reached a client or the console; the new file holds only the relay's own client.
  expect(stdout.split("\n").filter((l) => l.startsWith("[SERVER]") && l.includes("joined"))).toEqual([notice.joined("zed")]);
  expect(existsSync(file)).toBe(true);
  expect(readFileSync(file, "utf8")).toContain(`"name":"zed"`);
}

/** A UDP port nobody is bound to just now, for a relay whose port its clients must know before it starts. */
async function freePort(): Promise<number> {
  const probe = await Bun.udpSocket({ hostname: "127.0.0.1" });
  const port = probe.port;
  probe.close();
  return port;
}

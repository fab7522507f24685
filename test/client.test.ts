// The terminal client as a real process, stdin and stdout piped, against a real relay over loopback.

import { expect, test } from "bun:test";
import { spawnClient } from "./support/client-process.ts";
import { peer } from "./support/peer.ts";
import { startTestRelay, type TestRelay } from "./support/relays.ts";

/** A registered peer, `watcher0`, that hears what the client says. */
async function listener(r: TestRelay) {
  const [p] = await r.join(1, "watcher");
  return p!;
}

test("piped: the first line is the name, lines and commands go out, replies come back, end of input leaves", async () => {
  await using r = await startTestRelay();
  const w = await listener(r);
  await using c = spawnClient(["--port", String(r.port)]);
  c.type("alice");
  await c.until((l) => l === "[SERVER] alice has joined the chat.");
  c.type("hello there");
  c.type("/who");
  expect(await w.until((l) => l.startsWith("alice ~"))).toBe("alice ~ hello there");
  await c.until((l) => l.startsWith("[SERVER] Online (2)"));
  const { code, stdout, stderr } = await c.finish();
  expect(code).toBe(0);
  expect(stderr).toBe("");
  expect(stdout).toEqual(["[SERVER] alice has joined the chat.", "alice ~ hello there", "[SERVER] Online (2): alice, watcher0"]);
  expect(await w.until((l) => l.endsWith("has left the chat."))).toBe("[SERVER] alice has left the chat.");
  expect(r.registry.size).toBe(1);
});

test("piped output carries no colour codes, even without NO_COLOR", async () => {
  await using r = await startTestRelay();
  await using c = spawnClient(["--port", String(r.port), "--name", "plain"]);
  c.type("/me checks");
  await c.until((l) => l.startsWith("* plain"));
  const { stdout } = await c.finish();
  expect(stdout.join("\n")).not.toContain("\x1b");
});

test("/quit leaves at once and exits 0", async () => {
  await using r = await startTestRelay();
  const w = await listener(r);
  await using c = spawnClient(["--port", String(r.port), "--name", "bob"]);
  await c.until((l) => l.includes("bob has joined"));
  c.type("/quit");
  expect(await w.until((l) => l.endsWith("left the chat."))).toBe("[SERVER] bob has left the chat.");
  expect((await c.finish()).code).toBe(0);
});

test("Ctrl+C (SIGINT) leaves cleanly and exits 0", async () => {
  await using r = await startTestRelay();
  const w = await listener(r);
  await using c = spawnClient(["--port", String(r.port), "--name", "carol"]);
  await c.until((l) => l.includes("carol has joined"));
  c.proc.kill("SIGINT");
  expect(await w.until((l) => l.endsWith("left the chat."))).toBe("[SERVER] carol has left the chat.");
  expect((await c.finish()).code).toBe(0);
});

test("the relay's shutdown notice ends the client with exit 0", async () => {
  await using r = await startTestRelay();
  await using c = spawnClient(["--port", String(r.port), "--name", "dora"]);
  await c.until((l) => l.includes("dora has joined"));
  await r.shutdown(100);
  const done = await Promise.race([c.proc.exited, Bun.sleep(5000).then(() => "hung")]);
  expect(done).toBe(0);
  expect(c.lines.at(-1)).toBe("[SERVER] Server is shutting down.");
});

test("keepalive pings keep the client online past the idle timeout, their pongs hidden; a pong asked for is shown", async () => {
  await using r = await startTestRelay({ idleTimeoutMs: 400 });
  await using c = spawnClient(["--port", String(r.port), "--name", "erin", "--keepalive", "0.1"]);
  await c.until((l) => l.includes("erin has joined"));
  await Bun.sleep(1000);
  expect(r.registry.findByName("erin")).toBeDefined();
  expect(r.stats.timeouts).toBe(0);
  c.type("/ping");
  await c.until((l) => l === "[SERVER] pong");
  const { stdout } = await c.finish();
  expect(stdout.filter((l) => l === "[SERVER] pong").length).toBe(1);
});

test("a relay that never answers the join: one line naming host:port, exit 1", async () => {
  using silent = await peer(9); // a socket that receives and never replies; its own port is what we need
  await using c = spawnClient(["--port", String(silent.port), "--name", "frank", "--join-timeout", "0.3"]);
  const { code, stdout, stderr } = await c.finish();
  expect(code).toBe(1);
  expect(stdout).toEqual([]);
  expect(stderr).toBe(`error: no answer from the relay at 127.0.0.1:${silent.port}\n`);
});

test("nothing listening at all: one line naming host:port, exit 1", async () => {
  const gone = await peer(9);
  const port = gone.port;
  gone.close();
  await using c = spawnClient(["--port", String(port), "--name", "gina", "--join-timeout", "2"]);
  const { code, stderr } = await c.finish();
  expect(code).toBe(1);
  expect(stderr.trim().split("\n").length).toBe(1);
  expect(stderr).toContain(`127.0.0.1:${port}`);
});

test("piped, a refused name ends the client with the relay's reason and exit 1", async () => {
  await using r = await startTestRelay();
  await listener(r);
  await using c = spawnClient(["--port", String(r.port), "--name", "WATCHER0"]);
  const { code, stderr } = await c.finish();
  expect(code).toBe(1);
  expect(stderr).toBe("[SERVER] Name refused: WATCHER0 is taken. Send another name.\n");
});

test("bad flags: one error line and a pointer to --help, exit 2", async () => {
  await using c = spawnClient(["--port", "70000"]);
  const { code, stderr } = await c.finish();
  expect(code).toBe(2);
  expect(stderr).toBe(`error: --port: "70000" is not a whole number from 1 to 65535\nTry 'bun run src/client.ts --help'.\n`);
});

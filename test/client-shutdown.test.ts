// The terminal client believes a shutdown notice only when the relay then fails to answer a /ping (issue 18).

import { expect, test } from "bun:test";
import { SHUTDOWN_CONFIRM_MS } from "../src/client/session.ts";
import { encode, notice } from "../src/protocol/wire.ts";
import { type ClientProcess, spawnClient } from "./support/client-process.ts";
import { peer } from "./support/peer.ts";
import { startTestRelay } from "./support/relays.ts";
import { spawnServer } from "./support/server-process.ts";

/** Whether the process is still running after `ms` (it is never killed here). */
async function stillRunningAfter(c: ClientProcess, ms: number): Promise<boolean> {
  return (await Promise.race([c.proc.exited.then(() => false), Bun.sleep(ms).then(() => true)])) as boolean;
}

test("a real relay process shutting down ends the client promptly, exit 0", async () => {
  await using server = await spawnServer();
  await using c = spawnClient(["--port", String(server.port), "--name", "dora"]);
  await c.until((l) => l === notice.joined("dora"));
  await server.stop("SIGINT");
  const done = await Promise.race([c.proc.exited, Bun.sleep(5000).then(() => "hung")]);
  expect(done).toBe(0);
  expect(c.lines.at(-1)).toBe(notice.shuttingDown);
});

test("a relay that goes silent after its shutdown notice (no ICMP error) ends the client after the check", async () => {
  // A stand-in relay: it admits the client, says it is shutting down, then answers nothing, like a host gone.
  let client_: { port: number; address: string } | undefined;
  using stack = new DisposableStack();
  const fake = stack.adopt(await Bun.udpSocket({
    hostname: "127.0.0.1",
    socket: {
      data(s, data, port, address) {
        if (client_ !== undefined) return; // the /ping goes unanswered
        client_ = { port, address };
        s.send(notice.joined(new TextDecoder().decode(data)), port, address);
        s.send(notice.shuttingDown, port, address);
      },
    },
  }), (u) => u.close());
  const started = performance.now();
  await using c = spawnClient(["--port", String(fake.port), "--name", "eve"]);
  const done = await Promise.race([c.proc.exited, Bun.sleep(8000).then(() => "hung")]);
  expect(done).toBe(0);
  expect(c.lines.at(-1)).toBe(notice.shuttingDown);
  expect(performance.now() - started).toBeGreaterThanOrEqual(SHUTDOWN_CONFIRM_MS);
});

test("a spoofed shutdown notice, from another socket or with the relay's own address, leaves the client running", async () => {
  await using r = await startTestRelay();
  await using c = spawnClient(["--port", String(r.port), "--name", "frank"]);
  await c.until((l) => l === notice.joined("frank"));
  const frank = r.registry.findByName("frank")!;

  // From another socket: the client's socket is connected to the relay, so the kernel drops it.
  using mallory = await peer(frank.port);
  mallory.send(notice.shuttingDown);
  // With the relay's own source address and port, as a spoofer on the path could send it: the relay still
  // answers the client's /ping, so the client stays.
  r.deliverRemote(encode(notice.shuttingDown));
  expect(await stillRunningAfter(c, SHUTDOWN_CONFIRM_MS + 500)).toBe(true);
  expect(c.lines).not.toContain(notice.shuttingDown);
  expect(c.lines.some((l) => l.includes("ignored"))).toBe(true);

  // Still chatting: a command gets its answer.
  c.type("/who");
  await c.until((l) => l.startsWith("[SERVER] Online (1)"));
  const { code } = await c.finish();
  expect(code).toBe(0);
});

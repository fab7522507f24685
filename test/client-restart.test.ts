// The terminal client across a relay restart with --state: it sees the goodbye, the relay comes back, it carries on (issue 14).

import { expect, test } from "bun:test";
import { join } from "node:path";
import { RESTART_WAIT_MS } from "../src/client/session.ts";
import { notice } from "../src/protocol/wire.ts";
import { spawnClient } from "./support/client-process.ts";
import { peer } from "./support/peer.ts";
import { spawnServer } from "./support/server-process.ts";
import { tempDir } from "./support/temp-dir.ts";

test("a client that sees the shutdown notice and then the relay again carries on under its name, without rejoining", async () => {
  using dir = tempDir("client-restart-");
  const file = join(dir.path, "relay.state");
  const first = await spawnServer(["--state", file]);
  using bob = await peer(first.port);
  bob.send("bob");
  await bob.until((l) => l === notice.joined("bob"));
  await using c = spawnClient(["--port", String(first.port), "--name", "dora"]);
  await c.until((l) => l === notice.joined("dora"));

  await first.stop("SIGTERM");
  await c.until((l) => l === notice.shuttingDown);
  await using second = await spawnServer(["--state", file, "--port", String(first.port)]);
  await c.until((l) => l.includes("carrying on"), RESTART_WAIT_MS + 2000);
  expect(c.proc.exitCode).toBeNull();

  // bob is still bob once he speaks (until then he is only remembered, and hears nothing); dora hears him.
  bob.send("hi");
  await c.until((l) => l === "bob ~ hi");
  // Its next line goes out under its old name.
  c.type("still here");
  expect(await bob.until((l) => l.startsWith("dora ~"), 3000)).toBe("dora ~ still here");
  bob.send("/who");
  expect(await bob.until((l) => l.startsWith("[SERVER] Online"))).toBe("[SERVER] Online (2): bob, dora");
  const { code } = await c.finish();
  expect(code).toBe(0);
  expect(c.lines.filter((l) => l.startsWith("[SERVER] Name refused"))).toEqual([]);
  await second.stop("SIGTERM");
});

test("a relay that restarts without its state: the client ends after the wait, exit 0, as before", async () => {
  const first = await spawnServer();
  await using c = spawnClient(["--port", String(first.port), "--name", "erin"]);
  await c.until((l) => l === notice.joined("erin"));
  await first.stop("SIGTERM");
  await using second = await spawnServer(["--port", String(first.port)]);
  const done = await Promise.race([c.proc.exited, Bun.sleep(RESTART_WAIT_MS + 4000).then(() => "hung")]);
  expect(done).toBe(0);
  expect(c.lines.at(-1)).toBe(notice.shuttingDown);
  // Its pings were refused as names, and nobody joined as "/ping".
  expect((await second.stop("SIGTERM")).stdout).not.toContain("joined");
});

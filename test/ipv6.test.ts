// The programs over IPv6 for real: a relay on ::1, the terminal client and the load generator chatting with it.

import { describe, expect, test } from "bun:test";
import { spawnClient } from "./support/client-process.ts";
import { runScript, spawnServer } from "./support/server-process.ts";

describe("IPv6 (::1)", () => {
  test("the terminal client joins a relay on ::1, chats, and leaves", async () => {
    await using server = await spawnServer(["--host", "::1"]);
    await using alice = spawnClient(["--host", "::1", "--port", String(server.port), "--name", "alice"], { NO_COLOR: "1" });
    await alice.until((l) => l.includes("[SERVER] alice has joined the chat."));
    alice.type("hello over v6");
    await alice.until((l) => l.includes("alice ~ hello over v6"));
    const { code, stderr } = await alice.finish();
    expect(stderr).not.toContain("EAFNOSUPPORT");
    expect(code).toBe(0);
    const deadline = performance.now() + 5000;
    while (!server.lines.includes("[SERVER] alice has left the chat.") && performance.now() < deadline) await Bun.sleep(10);
    expect(server.lines).toContain("alice ~ hello over v6");
    expect(server.lines).toContain("[SERVER] alice has left the chat.");
  }, 30_000);

  test("the load generator runs against a relay on ::1 with exact accounting", async () => {
    await using server = await spawnServer(["--host", "::1", "--quiet", "--rate-limit", "0"]);
    const r = await runScript("load.ts", ["--json", "--quiet", "--host", "::1", "--port", String(server.port), "--clients", "10", "--rate", "100", "--duration", "1"], 20_000);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}") as Record<string, unknown>;
    expect(summary).toMatchObject({ clients: 10, registered: 10, sent: 100, expected: 1000, delivered: 1000, lost: 0 });
  }, 30_000);
});

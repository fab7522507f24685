// Old clients keep working: a standard-library Python UDP client (name, then text) joins and chats with the relay.

import { expect, test } from "bun:test";
import { resolve } from "node:path";
import { startTestRelay } from "./support/relays.ts";

const script = resolve(import.meta.dir, "fixtures/plain_client.py");

for (const host of ["127.0.0.1", "::1"]) {
  test(`a plain Python client joins and chats over ${host}`, async () => {
    await using r = await startTestRelay({ host });
    const [listener] = await r.join(1);
    const proc = Bun.spawn(["python3", script, host, String(r.port), "Grace Hopper", "hello from 1952 ✓"], {
      stdout: "pipe",
      stderr: "pipe",
      timeout: 10_000,
    });
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout.trim().split("\n")).toEqual(["[SERVER] Grace Hopper has joined the chat.", "Grace Hopper ~ hello from 1952 ✓"]);
    expect(await listener!.collect(2)).toEqual(["[SERVER] Grace Hopper has joined the chat.", "Grace Hopper ~ hello from 1952 ✓"]);
  });
}

// Old clients keep working: a standard-library Python UDP client (name, then text) joins and chats with the relay.

import { afterEach, expect, test } from "bun:test";
import { resolve } from "node:path";
import { defaults } from "../src/config.ts";
import { type Relay, startRelay } from "../src/relay.ts";
import { joinAll, type Peer } from "./support/peer.ts";

const script = resolve(import.meta.dir, "fixtures/plain_client.py");
const open: { relays: Relay[]; peers: Peer[] } = { relays: [], peers: [] };
afterEach(() => {
  for (const p of open.peers.splice(0)) p.close();
  for (const r of open.relays.splice(0)) r.close();
});

for (const host of ["127.0.0.1", "::1"]) {
  test(`a plain Python client joins and chats over ${host}`, async () => {
    const r = await startRelay({ ...defaults, host, port: 0, quiet: true });
    open.relays.push(r);
    const [listener] = await joinAll(r.port, 1, "p", host);
    open.peers.push(listener!);
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

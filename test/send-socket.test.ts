// The send-only socket (src/send-socket.ts) on real loopback sockets: the kernel steers every arriving datagram to
// the relay's socket, replies leave from the relay's port, the port is refused to others and freed on close.

import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { defaults } from "../src/config.ts";
import { BindError, reusePortFlags } from "../src/bind.ts";
import { startRelay } from "../src/relay.ts";
import { steeringFailure } from "../src/send-socket.ts";
import { AF_INET, AF_INET6 } from "../src/sockaddr.ts";
import { startWorkers } from "../src/scale/workers.ts";
import { EVERY_NOTICE } from "./support/relays.ts";

const linux = process.platform === "linux";
const PEERS = 40;

/** Sockets bound to local `port` in /proc/net/udp and udp6 (every process's; ports are ephemeral, so ours). */
function socketsOn(port: number): number {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, "0")} `;
  let n = 0;
  for (const file of ["/proc/net/udp", "/proc/net/udp6"]) {
    for (const line of readFileSync(file, "utf8").split("\n").slice(1)) {
      const local = line.trim().split(/\s+/)[1] ?? "";
      if (`${local.slice(local.indexOf(":"))} `.startsWith(hex)) n++;
    }
  }
  return n;
}

async function startQuietRelay(host: string, port = 0, log?: (line: string) => void) {
  return startRelay({ ...defaults, ...EVERY_NOTICE, host, port, quiet: true, rateLimitPerSecond: 0, joinsPerSecond: 0, verifyAddress: "off" }, undefined, { log });
}

describe.skipIf(!linux)("send-only socket", () => {
  test.each([AF_INET, AF_INET6])("canary: the kernel steers to the relay's socket here (family %i)", async (family) => {
    expect(await steeringFailure(family)).toBeUndefined();
  });

  test.each(["127.0.0.1", "::1", "::"])(
    "relay on %s: two sockets on its port; every one of many clients is heard, and hears the relay from its port",
    async (host) => {
      const lines: string[] = [];
      const relay = await startQuietRelay(host, 0, (line) => lines.push(line));
      const peerHost = host === "::" ? "127.0.0.1" : host;
      using open = new DisposableStack();
      open.defer(() => relay.close());
      expect(lines.join("\n")).toContain("on a send-only socket");
      expect(socketsOn(relay.port)).toBe(2);
      const got: { text: string; port: number }[][] = [];
      for (let i = 0; i < PEERS; i++) {
        const inbox: { text: string; port: number }[] = [];
        got.push(inbox);
        const s = await Bun.udpSocket({ hostname: peerHost, socket: { data: (_s, d, port) => void inbox.push({ text: d.toString(), port }) } });
        open.defer(() => s.close());
        s.send(`peer${i}`, relay.port, peerHost);
        if (i === PEERS - 1) s.send("last one in", relay.port, peerHost);
      }
      const deadline = performance.now() + 5000;
      const heard = () => got.filter((inbox) => inbox.some((m) => m.text === `peer${PEERS - 1} ~ last one in`)).length;
      while (heard() < PEERS && performance.now() < deadline) await Bun.sleep(5);
      expect(relay.registry.size).toBe(PEERS);
      expect(heard()).toBe(PEERS);
      for (let i = 0; i < PEERS; i++) {
        expect(got[i]!.map((m) => m.text)).toContain(`[SERVER] peer${i} has joined the chat.`);
        expect(got[i]!.every((m) => m.port === relay.port)).toBe(true);
      }
    },
  );

  test("the port is refused to a second relay and to a worker group, and free again once the relay closes", async () => {
    const relay = await startQuietRelay("127.0.0.1");
    const port = relay.port;
    try {
      await expect(startQuietRelay("127.0.0.1", port)).rejects.toBeInstanceOf(BindError);
      const workers = startWorkers({ ...defaults, host: "127.0.0.1", port, workers: 2, quiet: true });
      await expect(workers).rejects.toThrow(`cannot listen on 127.0.0.1:${port}: address already in use`);
    } finally {
      relay.close();
    }
    expect(socketsOn(port)).toBe(0);
    const again = await Bun.udpSocket({ hostname: "127.0.0.1", port });
    again.close();
  });

  test("a worker's relay keeps sending on its own socket: the group is shared with the other workers", async () => {
    const lines: string[] = [];
    const first = await Bun.udpSocket({ ...reusePortFlags, hostname: "127.0.0.1" });
    try {
      const relay = await startRelay({ ...defaults, host: "127.0.0.1", port: first.port, quiet: true }, undefined, { reusePort: true, log: (l) => lines.push(l) });
      relay.close();
    } finally {
      first.close();
    }
    expect(lines.join("\n")).toContain("on the relay's socket");
    expect(lines.join("\n")).toContain("no send-only socket");
  });
});

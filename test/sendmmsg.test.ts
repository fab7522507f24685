// The sendmmsg path on real sockets: a canary for what it leans on (socket.fd, libc through bun:ffi), its header
// layout, address encoding for both families, and delivery that survives forced GC while clients come and go.

import { describe, expect, test } from "bun:test";
import { defaults } from "../src/config.ts";
import { fdOf, libc } from "../src/libc.ts";
import { startRelay } from "../src/relay.ts";
import { chooseSendPath, headerBytes, MMSGHDR_BYTES, MmsgSender, SendPathError, sendmmsgFailure } from "../src/sendmmsg.ts";
import { AF_INET, AF_INET6, encodeSockaddr, parseIPv6 } from "../src/sockaddr.ts";
import { socketFamily } from "../src/sockopt.ts";
import { EVERY_NOTICE } from "./support/relays.ts";

const linux = process.platform === "linux";
const OWN_SOCKET = { sendOnlySocket: false, sendBufferBytes: 0 } as const;

describe("sockaddr encoding (join time)", () => {
  const bytes = (family: number, address: string, port: number) => {
    const into = new Uint8Array(32).fill(0xee);
    const len = encodeSockaddr(family, address, port, into, 2);
    return { len, hex: Buffer.from(into.subarray(2, 2 + len)).toString("hex"), tail: into[30] };
  };
  test.each([
    [AF_INET, "127.0.0.1", 0x1234, 16, "0200123" + "47f000001" + "0000000000000000"],
    [AF_INET, "::ffff:10.1.2.3", 80, 16, "020000500a010203" + "0000000000000000"],
    [AF_INET6, "::1", 0xffff, 28, "0a00ffff00000000" + "00000000000000000000000000000001" + "00000000"],
    [AF_INET6, "::ffff:192.168.0.9", 1, 28, "0a00000100000000" + "00000000000000000000ffffc0a80009" + "00000000"],
    [AF_INET6, "192.168.0.9", 1, 28, "0a00000100000000" + "00000000000000000000ffffc0a80009" + "00000000"],
    [AF_INET6, "fe80::1%3", 7, 28, "0a00000700000000" + "fe800000000000000000000000000001" + "03000000"],
    [AF_INET6, "2001:db8::8:800:200c:417a", 9, 28, "0a00000900000000" + "20010db8000000000008080020 0c417a".replace(" ", "") + "00000000"],
  ])("family %i, %s port %i → %i bytes", (family, address, port, len, hex) => {
    const got = bytes(family, address, port);
    expect(got.len).toBe(len);
    expect(got.hex).toBe(hex);
  });
  test.each([
    [AF_INET, "::1"],
    [AF_INET, "1.2.3"],
    [AF_INET, "1.2.3.256"],
    [AF_INET6, "1::2::3"],
    [AF_INET6, "1:2:3:4:5:6:7:8:9"],
    [AF_INET6, "12345::"],
    [AF_INET6, ""],
  ])("family %i refuses %p (0 bytes)", (family, address) => expect(bytes(family, address, 1).len).toBe(0));
  test("parseIPv6 agrees on the full and compressed forms", () => {
    expect(parseIPv6("0:0:0:0:0:0:0:1")).toEqual(parseIPv6("::1")!);
    expect(parseIPv6("1::")).toEqual(parseIPv6("1:0:0:0:0:0:0:0")!);
  });
});

describe.skipIf(!linux)("canary: what the sendmmsg path needs from Bun and libc (fails loudly on an upgrade that breaks it)", () => {
  test.each(["127.0.0.1", "::1"])("a Bun.udpSocket on %s has an fd, a readable family, and passes the self-check", async (host) => {
    const socket = await Bun.udpSocket({ hostname: host });
    try {
      expect(fdOf(socket)).toBeGreaterThan(2);
      expect(socketFamily(socket)).toBe(host === "::1" ? AF_INET6 : AF_INET);
      const c = libc();
      expect(c).not.toBeNull();
      expect(typeof c!.sendmmsg).toBe("function");
      expect(await sendmmsgFailure(socket)).toBeUndefined();
      expect((await chooseSendPath("auto", socket, OWN_SOCKET)).name).toBe("sendmmsg");
    } finally {
      socket.close();
    }
  });

  test("errno comes through __errno_location: a bad fd is EBADF (9), a full buffer would be EAGAIN (11)", () => {
    const c = libc()!;
    const sender = new MmsgSender(c, 1_000_000, AF_INET, 1);
    sender.set(0, "127.0.0.1", 9);
    sender.use(new Uint8Array([1]));
    expect(sender.sendSlots(0, 1)).toBe(-1);
    expect(sender.lastErrno).toBe(9);
  });

  test("the headers: msg_name → the slot's sockaddr, msg_namelen, one iovec; 64 bytes each; rebuilt on growth", () => {
    const sender = new MmsgSender(libc()!, 1_000_000, AF_INET6, 2);
    sender.set(0, "::1", 1);
    sender.set(1, "127.0.0.1", 2);
    sender.set(4, "::1", 3); // past the capacity: new buffers, every header rebuilt
    expect(sender.slots).toBeGreaterThanOrEqual(5);
    for (const slot of [0, 1, 4]) {
      const h = new DataView(headerBytes(sender, slot).buffer);
      expect(h.byteLength).toBe(MMSGHDR_BYTES);
      expect(Number(h.getBigUint64(0, true))).toBe(sender.addressOf(slot));
      expect(h.getUint32(8, true)).toBe(28);
      expect(h.getBigUint64(16, true)).not.toBe(0n);
      expect(h.getBigUint64(24, true)).toBe(1n);
    }
  });

  test("--send-path sendmmsg fails at start-up, saying why, where it cannot work", async () => {
    const fake = {} as Bun.udp.Socket<"buffer">; // no fd
    await expect(chooseSendPath("sendmmsg", fake, OWN_SOCKET)).rejects.toBeInstanceOf(SendPathError);
    expect((await chooseSendPath("auto", fake, OWN_SOCKET)).name).toBe("bun");
    expect((await chooseSendPath("bun", fake, OWN_SOCKET)).why).toBe("--send-path bun");
  });
});

describe.skipIf(!linux)("sendmmsg under forced GC while clients join and leave", () => {
  test.each(["127.0.0.1", "::"])("every registered client receives every line byte-exact (relay on %s)", async (host) => {
    const relay = await startRelay({ ...defaults, ...EVERY_NOTICE, host, port: 0, quiet: true, rateLimitPerSecond: 0, joinsPerSecond: 0, sendBatchClients: 16, verifyAddress: "off" });
    expect(relay.sendPath).toBe("sendmmsg");
    const peerHost = host === "::" ? "127.0.0.1" : host; // IPv4 clients of a dual-stack relay: ::ffff:a.b.c.d
    interface Member {
      readonly socket: Bun.udp.Socket<"buffer">;
      readonly got: Uint8Array[];
      readonly want: Uint8Array[];
    }
    const members: Member[] = [];
    const encoder = new TextEncoder();
    let joined = 0;
    async function join(): Promise<Member> {
      const got: Uint8Array[] = [];
      // Only the relay's datagrams: on a shared machine other runs' relays may still send to a reused port.
      const socket = await Bun.udpSocket({ hostname: peerHost, socket: { data: (_s, d, port) => void (port === relay.port && got.push(Uint8Array.from(d))) } });
      const m = { socket, got, want: [] };
      const size = relay.registry.size;
      socket.send(`m${joined++}`, relay.port, peerHost);
      const deadline = performance.now() + 3000;
      while (relay.registry.size === size && performance.now() < deadline) await Bun.sleep(1);
      while (got.length === 0 && performance.now() < deadline) await Bun.sleep(1); // its own join notice
      got.length = 0;
      members.push(m);
      return m;
    }
    try {
      for (let i = 0; i < 40; i++) await join(); // several --send-batch 16 calls per line
      for (let round = 0; round < 30; round++) {
        Bun.gc(true);
        // Leave: one from the middle (swap-remove moves the last slot's address), one at the end.
        for (const last of [false, true]) {
          const [m] = members.splice(last ? members.length - 1 : round % members.length, 1);
          m!.socket.send("/quit", relay.port, peerHost);
          const size = relay.registry.size;
          const deadline = performance.now() + 3000;
          while (relay.registry.size === size && performance.now() < deadline) await Bun.sleep(1);
          m!.socket.close();
        }
        for (let j = 0; j < 3; j++) await join();
        for (const m of members) m.got.length = 0; // leave and join notices: not what this test checks
        Bun.gc(true);
        // A line of a length never seen before, with every byte value, from a random member.
        const from = members[(round * 7) % members.length]!;
        const text = `${round}:${"é".repeat(round)}${String.fromCharCode(...Array.from({ length: 50 }, (_, k) => 0x21 + ((k * 13 + round) % 90)))}`;
        const expected = encoder.encode(`${decodeName(from)} ~ ${text}`);
        from.socket.send(text, relay.port, peerHost);
        const deadline = performance.now() + 3000;
        // Notices (joins, leaves) may still be landing; every chat line received must be this one, exactly once.
        const lines = (m: Member) => m.got.filter((g) => !Buffer.from(g).toString().startsWith("[SERVER]"));
        while (members.some((m) => lines(m).length < 1) && performance.now() < deadline) await Bun.sleep(1);
        for (const m of members) {
          const got = lines(m);
          expect(got.map((g) => Buffer.from(g).toString())).toEqual([Buffer.from(expected).toString()]);
          expect(Buffer.from(got[0]!).equals(Buffer.from(expected))).toBe(true);
        }
      }
      expect(relay.stats.dropsTotal).toBe(0);
      expect(relay.stats.sendErrors).toBe(0);
    } finally {
      for (const m of members) m.socket.close();
      relay.close();
    }
    function decodeName(m: Member): string {
      return relay.registry.all().find((c) => c.port === m.socket.port)!.name;
    }
  }, 30_000);
});

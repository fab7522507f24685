// Canary for an undocumented Bun behaviour the worker group stands on: `flags: 4` sets SO_REUSEPORT and keeps sendMany.

import { expect, test } from "bun:test";
import { reusePortFlags } from "../src/bind.ts";

type Socket = Bun.udp.Socket<"buffer">;

async function bind(port: number, reuse: boolean, onData: () => void = () => {}): Promise<Socket> {
  return Bun.udpSocket({ ...(reuse ? reusePortFlags : undefined), hostname: "127.0.0.1", port, socket: { data: onData } });
}

test("flags: 4 lets two sockets share a port, both receive, both sendMany; without it the port is in use", async () => {
  using open = new DisposableStack();
  const close = (s: Socket) => s.close();
  const counts = [0, 0];
  const a = open.adopt(await bind(0, true, () => counts[0]!++), close);
  // If this throws EADDRINUSE, Bun stopped honouring flags: 4 and --workers cannot work: see reusePortFlags.
  const b = open.adopt(await bind(a.port, true, () => counts[1]!++), close);
  expect(b.port).toBe(a.port);
  let plainError = "";
  await bind(a.port, false).then(
    (s) => (open.adopt(s, close), (plainError = "bound")),
    (err: { code?: string }) => (plainError = err.code ?? "?"),
  );
  expect(plainError).toBe("EADDRINUSE");

  // 32 senders: the kernel spreads them over the group by 4-tuple hash (all on one side has odds 2^-31).
  const received: number[] = [];
  const senders: Socket[] = [];
  for (let i = 0; i < 32; i++) {
    senders.push(open.adopt(await Bun.udpSocket({ hostname: "127.0.0.1", socket: { data: () => void received.push(i) } }), close));
  }
  for (const s of senders) s.send("x", a.port, "127.0.0.1");
  const deadline = performance.now() + 2000;
  while (counts[0]! + counts[1]! < 32 && performance.now() < deadline) await Bun.sleep(5);
  expect(counts[0]! + counts[1]!).toBe(32);
  expect(counts[0]).toBeGreaterThan(0);
  expect(counts[1]).toBeGreaterThan(0);

  // Both sockets batch-send, from the shared port, to every sender.
  const packets = senders.flatMap((s) => ["y", s.port, "127.0.0.1"]);
  expect(a.sendMany(packets)).toBe(32);
  expect(b.sendMany(packets)).toBe(32);
  while (received.length < 64 && performance.now() < deadline + 2000) await Bun.sleep(5);
  expect(received.length).toBe(64);
});

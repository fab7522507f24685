// Group 4a: what each inbound datagram costs before fan-out — Bun's receive path, the registry lookup, the text and UTF-8 checks.

import { isUtf8 } from "node:buffer";
import dgram from "node:dgram";
import { bench, do_not_optimize, group, summary } from "mitata";
import { checkText } from "../src/protocol/text.ts";
import { type Client, Registry } from "../src/registry.ts";
import { type BenchGroup, type BenchState, sweep } from "./suite.ts";

const LOOPBACK = "127.0.0.1";
const utf8 = new TextEncoder();
const addressBytes = utf8.encode(LOOPBACK);
const datagram = utf8.encode("hello, world! how are you?");
const RECEIVE_DEADLINE_MS = 1000;

/** Chat payloads to validate: short and ~1 KB, ASCII and multi-byte. */
const texts: Record<string, Uint8Array> = {
  "short ascii": utf8.encode("hello, world! how are you?"),
  "short utf8": utf8.encode("héllo wörld ✓ 日本 🙂"),
  "1k ascii": utf8.encode("the quick brown fox jumps over the lazy dog. ".repeat(23)),
  "1k utf8": utf8.encode("naïve café 日本語 🙂 ".repeat(39)),
};

const open: { close(): void }[] = [];

/** Counts datagrams on a receiving socket and notes when the expected one arrives. */
class Arrivals {
  count = 0;
  target = 0;
  doneNs = 0;
  private wake: (() => void) | undefined;

  // hot path: called from the receive callback
  arrived(): void {
    if (++this.count === this.target) {
      this.doneNs = Bun.nanoseconds();
      this.wake?.();
    }
  }

  /** Resolves once `count` reaches `target`, or rejects after the deadline (a lost datagram). */
  until(target: number): Promise<void> {
    this.target = target;
    if (this.count >= target) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${target - this.count} datagrams never arrived`)), RECEIVE_DEADLINE_MS);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }
}

// K datagrams are already queued on the receiver (loopback delivery is synchronous) when the clock starts;
// it stops at the K-th callback. The slope over K is Bun's cost per received datagram.
async function receiveBench(k: number, receiver: "bun" | "node"): Promise<() => Promise<number>> {
  const arrivals = new Arrivals();
  let port: number;
  if (receiver === "bun") {
    const socket = await Bun.udpSocket({ hostname: LOOPBACK, socket: { data: () => arrivals.arrived() } });
    open.push(socket);
    port = socket.port;
  } else {
    const socket = dgram.createSocket("udp4");
    socket.on("message", () => arrivals.arrived());
    await new Promise<void>((resolve) => socket.bind(0, LOOPBACK, resolve));
    open.push(socket);
    port = socket.address().port;
  }
  const sender = await Bun.udpSocket({ hostname: LOOPBACK });
  open.push(sender);
  const packets: (Uint8Array | number | string)[] = [];
  for (let i = 0; i < k; i++) packets.push(datagram, port, LOOPBACK);
  return async () => {
    const expected = arrivals.count + k;
    if (sender.sendMany(packets) !== k) throw new Error("short send to a loopback socket");
    const t0 = Bun.nanoseconds();
    await arrivals.until(expected);
    return arrivals.doneNs - t0;
  };
}

export const inboundGroup: BenchGroup = {
  name: "inbound",
  title: "Per inbound datagram: Bun's receive callback, registry lookup, text and UTF-8 checks",
  per: { arg: "k", label: "per datagram" },
  register(quick) {
    const ks = sweep(quick, [1, 8, 64], [1, 64]);
    const ns = sweep(quick, [10, 1000, 10_000], [1000]);
    const sizes = sweep(quick, Object.keys(texts), ["1k utf8"]);

    group("inbound: receiving K queued datagrams (each sample: K datagrams, to the K-th callback)", () => {
      summary(() => {
        bench("Bun.udpSocket data callback (K=$k)", async function* (state: BenchState) {
          const run = await receiveBench(state.get("k") as number, "bun");
          yield { manual: run };
        })
          .args("k", ks)
          .baseline();
        bench("node:dgram 'message' event (K=$k)", async function* (state: BenchState) {
          const run = await receiveBench(state.get("k") as number, "node");
          yield { manual: run };
        }).args("k", ks);
      });
    });

    group("inbound: finding the sender among N registered clients", () => {
      summary(() => {
        bench("Registry.lookup: address → port → client (N=$n)", function* (state: BenchState) {
          const { registry, ports } = registered(state.get("n") as number);
          const decoder = new TextDecoder();
          let i = 0;
          yield {
            // Bun hands every datagram a fresh address string: decode one per call so its hash is never cached.
            [0]: () => decoder.decode(addressBytes),
            [1]: () => ports[i++ % ports.length]!,
            bench: (address: string, port: number) => do_not_optimize(registry.lookup(address, port)),
          };
        })
          .args("n", ns)
          .baseline();
        bench("Map<`address:port`, client>: key string per datagram (N=$n)", function* (state: BenchState) {
          const { registry, ports } = registered(state.get("n") as number);
          const byKey = new Map<string, Client>();
          for (const c of registry.all()) byKey.set(`${c.address}:${c.port}`, c);
          const decoder = new TextDecoder();
          let i = 0;
          yield {
            [0]: () => decoder.decode(addressBytes),
            [1]: () => ports[i++ % ports.length]!,
            bench: (address: string, port: number) => do_not_optimize(byKey.get(`${address}:${port}`)),
          };
        })
          .args("n", ns)
          .gc(quick ? "once" : "inner");
      });
    });

    group("inbound: the text rules' byte scan (control, bidi, blank, server look-alike)", () => {
      summary(() => {
        bench("checkText ($size)", function* (state: BenchState) {
          const payload = texts[state.get("size") as string]!;
          yield { [0]: () => payload, bench: (p: Uint8Array) => do_not_optimize(checkText(p, p.length)) };
        }).args("size", Object.keys(texts));
      });
    });

    group("inbound: is the payload valid UTF-8?", () => {
      summary(() => {
        bench("isUtf8 (node:buffer) ($size)", function* (state: BenchState) {
          const payload = texts[state.get("size") as string]!;
          yield { [0]: () => payload, bench: (p: Uint8Array) => do_not_optimize(isUtf8(p)) };
        })
          .args("size", sizes)
          .baseline();
        bench("TextDecoder({ fatal: true }).decode ($size)", function* (state: BenchState) {
          const payload = texts[state.get("size") as string]!;
          const strict = new TextDecoder("utf-8", { fatal: true });
          yield { [0]: () => payload, bench: (p: Uint8Array) => do_not_optimize(strict.decode(p)) };
        })
          .args("size", sizes)
          .gc(quick ? "once" : "inner");
      });
    });
  },
  close() {
    for (const s of open.splice(0)) s.close();
  },
};

// `n` clients on 127.0.0.1 at distinct ports, as after `n` joins from one host (the loopback case).
function registered(n: number): { registry: Registry; ports: number[] } {
  const registry = new Registry();
  const ports: number[] = [];
  for (let i = 0; i < n; i++) {
    const port = 20_000 + i;
    registry.add(`c${i}`, LOOPBACK, port, 0);
    ports.push(port);
  }
  return { registry, ports };
}

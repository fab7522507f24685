// Group 4b: the JavaScript work fan-out does per line besides the kernel send — payload slots, --no-echo, the console copy.

import { bench, do_not_optimize, group, summary } from "mitata";
import { type BatchSender, FanOut } from "../src/fanout.ts";
import { LinePrinter } from "../src/printer.ts";
import { encodePrefix } from "../src/protocol/wire.ts";
import { type Client, type PacketSlot, Registry } from "../src/registry.ts";
import { RelayStats } from "../src/stats.ts";
import { type BenchGroup, type BenchState, sweep } from "./suite.ts";

const utf8 = new TextEncoder();
const shortLine = utf8.encode("hello, world! how are you?");
const longerLine = utf8.encode("hello, world! how are you today?");

/**
 * A sender that sends nothing and reports every packet sent: what is left is fan-out's own JavaScript,
 * to hold against the real sendMany times of the broadcast group.
 */
class NullSender implements BatchSender {
  packets = 0;
  sendMany(packets: readonly PacketSlot[]): number {
    this.packets += packets.length;
    return packets.length / 3;
  }
}

/**
 * Fails every k-th recipient once per line, as a vanished client does on loopback: a call that reaches it stops
 * short just before it (or throws, when it comes first), and the retry gets through. It reads each packet it is
 * handed, as sendMany does, so re-sending the rest per error shows up as O(K·N).
 */
class FailingSender implements BatchSender {
  packets = 0;
  /** Index of the next recipient to fail; set to k before each line. */
  next = 0;
  constructor(private readonly k: number) {}
  sendMany(packets: readonly PacketSlot[]): number {
    this.packets += packets.length;
    for (let i = 0; i < packets.length; i += 3) {
      if ((packets[i + 1] as number) - FIRST_PORT !== this.next) continue;
      this.next += this.k;
      if (i === 0) throw REFUSED;
      return i / 3;
    }
    return packets.length / 3;
  }
}
const REFUSED = new Error("ECONNREFUSED");
const FIRST_PORT = 20_000;

interface Rig {
  readonly fan: FanOut;
  readonly clients: readonly Client[];
  readonly prefix: Uint8Array;
  readonly sender: NullSender;
}

function registryOf(n: number, sendBatch?: number): Registry {
  const registry = new Registry(sendBatch);
  for (let i = 0; i < n; i++) registry.add(`c${i}`, "127.0.0.1", FIRST_PORT + i, 0);
  return registry;
}

function rigOf(n: number): Rig {
  const registry = registryOf(n);
  const sender = new NullSender();
  const fan = new FanOut(sender, registry, new RelayStats(), 2048, 1 << 18);
  return { fan, clients: registry.all(), prefix: encodePrefix("alice"), sender };
}

export const bookkeepingGroup: BenchGroup = {
  name: "bookkeeping",
  title: "Fan-out's own JavaScript per line (sendMany replaced by a no-op): payload slots, --no-echo, console",
  register(quick) {
    const ns = sweep(quick, [100, 10_000], [10_000]);

    group("bookkeeping: fan-out JavaScript per line, no I/O (compare with the broadcast group)", () => {
      summary(() => {
        bench("frame + broadcast, same length as last line (N=$n)", function* (state: BenchState) {
          const { fan, prefix, sender } = rigOf(state.get("n") as number);
          yield {
            [0]: () => shortLine,
            bench: (line: Uint8Array) => {
              fan.broadcast(fan.frame(prefix, line));
              do_not_optimize(sender.packets);
            },
          };
        })
          .args("n", ns)
          .baseline();

        bench("frame + broadcast, length differs from last line (N=$n)", function* (state: BenchState) {
          const { fan, prefix, sender } = rigOf(state.get("n") as number);
          let flip = false;
          yield {
            // Alternating lengths: every line gets a new view, so every payload slot is rewritten.
            [0]: () => ((flip = !flip) ? shortLine : longerLine),
            bench: (line: Uint8Array) => {
              fan.broadcast(fan.frame(prefix, line));
              do_not_optimize(sender.packets);
            },
          };
        }).args("n", ns);

        bench("frame + broadcastExcept (--no-echo), sender varies (N=$n)", function* (state: BenchState) {
          const { fan, clients, sender } = rigOf(state.get("n") as number);
          let i = 0;
          yield {
            [0]: () => clients[(i += 7919) % clients.length]!,
            bench: (from: Client) => {
              fan.broadcastExcept(fan.frame(from.prefix, shortLine), from);
              do_not_optimize(sender.packets);
            },
          };
        }).args("n", ns);

        bench("frame + broadcast, every k-th recipient fails once, one sendMany for all (N=$n, k=$k)", function* (state: BenchState) {
          const n = state.get("n") as number;
          const k = state.get("k") as number;
          const sender = new FailingSender(k);
          // One chunk for everyone, so a resume has the whole remainder ahead of it (--send-batch N).
          const fan = new FanOut(sender, registryOf(n, n), new RelayStats(), 2048, 1 << 18);
          const prefix = encodePrefix("alice");
          yield {
            [0]: () => shortLine,
            bench: (line: Uint8Array) => {
              sender.next = k;
              fan.broadcast(fan.frame(prefix, line));
              do_not_optimize(sender.packets);
            },
          };
        }).args({ n: sweep(quick, [1000, 10_000], [1000]), k: sweep(quick, [1, 16, 256], [16]) });
      });
    });

    group("bookkeeping: console line per relayed line (without --quiet)", () => {
      bench("LinePrinter.line into a discarding writer", function* () {
        const printer = new LinePrinter({ write: () => true, onDrain: () => {} });
        const frame = new Uint8Array(encodePrefix("alice").length + shortLine.length);
        yield {
          [0]: () => frame,
          bench: (line: Uint8Array) => printer.line(line),
        };
        do_not_optimize(printer.dropped);
      });
    });
  },
  close() {},
};

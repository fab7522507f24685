// Group 3: end-to-end fan-out latency through the real relay — from a client's send to the first and the last of N recipients.

import { bench, boxplot, group } from "mitata";
import { defaults } from "../src/config.ts";
import { type Relay, startRelay } from "../src/relay.ts";
import { Recipients } from "./recipients.ts";
import { type BenchGroup, type BenchState, sweep } from "./suite.ts";

const LOOPBACK = "127.0.0.1";
/** Names are sent this many at a time, so the relay's receive buffer never overflows with joins. */
const JOIN_CHUNK = 32;
const JOIN_DEADLINE_MS = 2000;
/** A line not at every recipient by then fails the run: something is broken, not slow. */
const LINE_TIMEOUT_MS = 2000;
// Each line ends in a letter that changes every sample, so a copy is never mistaken for an earlier line's.
const TAGS = Array.from({ length: 26 }, (_, i) => 0x61 + i);
const LINES = TAGS.map((tag) => `hello, world! how are you? ${String.fromCharCode(tag)}`);

/** A relay on an ephemeral port, and recipients registered with it (recipient 0 also speaks). */
interface Rig {
  readonly relay: Relay;
  readonly recipients: Recipients;
  lines: number;
}

let rig: Promise<Rig> | undefined;

async function openRig(count: number): Promise<Rig> {
  const relay = await startRelay({ ...defaults, port: 0, quiet: true, rateLimitPerSecond: 0 });
  try {
    return { relay, recipients: await Recipients.spawn(count), lines: 0 };
  } catch (err) {
    relay.close();
    throw err;
  }
}

// Registers recipients up to `n`, in chunks, re-sending a name the relay did not get; then lets the join notices drain.
async function grow(r: Rig, n: number): Promise<void> {
  const { relay, recipients } = r;
  for (let from = relay.registry.size; from < n; from = relay.registry.size) {
    const to = Math.min(n, from + JOIN_CHUNK);
    await recipients.join(relay.port, from, to);
    const deadline = performance.now() + JOIN_DEADLINE_MS;
    while (relay.registry.size < to) {
      if (performance.now() > deadline) {
        for (let i = from; i < to; i++) {
          if (relay.registry.lookup(LOOPBACK, recipients.ports[i]!) === undefined) await recipients.join(relay.port, i, i + 1);
        }
        if (relay.registry.size < to) throw new Error(`only ${relay.registry.size} of ${to} recipients registered`);
      }
      await Bun.sleep(1);
    }
  }
  await recipients.quiet(20);
}

export const latencyGroup: BenchGroup = {
  name: "latency",
  title: "End-to-end fan-out latency through the relay (send → first / last of N recipients)",
  register(quick) {
    const ns = sweep(quick, [10, 100, 1000], [10]);
    const maxN = Math.max(...ns);

    group("latency: client send → relay → N recipients (idle relay, one line at a time)", () => {
      boxplot(() => {
        bench("relay end-to-end, $at of N=$n recipients", async function* (state: BenchState) {
          const at = state.get("at") as "first" | "last";
          const n = state.get("n") as number;
          const r = await (rig ??= openRig(maxN));
          await grow(r, n);
          yield {
            async manual() {
              const k = r.lines++ % TAGS.length;
              // Both times come from the drainer's clock: the send and every arrival happen there.
              const a = await r.recipients.line(r.relay.port, LINES[k]!, TAGS[k]!, n, LINE_TIMEOUT_MS);
              if (a.got < n) throw new Error(`only ${a.got} of ${n} recipients got the line within ${LINE_TIMEOUT_MS} ms`);
              return at === "first" ? a.firstNs : a.lastNs;
            },
          };
        }).args({ at: ["first", "last"], n: ns });
      });
    });
  },
  async close() {
    if (rig === undefined) return;
    const r = await rig;
    rig = undefined;
    r.recipients.close();
    r.relay.close();
  },
};

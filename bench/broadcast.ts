// Group 2: one broadcast to N real loopback recipients — the relay's two send paths (sendmmsg, chunked sendMany), other batch sizes, a send() loop, node:dgram.

import dgram from "node:dgram";
import { bench, do_not_optimize, group, summary } from "mitata";
import { FanOut } from "../src/fanout.ts";
import { encodePrefix } from "../src/protocol/wire.ts";
import { type PacketSlot, Registry } from "../src/registry.ts";
import { chooseSendPath, type SendPath } from "../src/sendmmsg.ts";
import { RelayStats } from "../src/stats.ts";
import { Recipients } from "./recipients.ts";
import { type BenchGroup, type BenchState, sweep } from "./suite.ts";

const LOOPBACK = "127.0.0.1";
const payload = new TextEncoder().encode("hello, world! how are you?");
/** How long to wait for the drainer to catch up before counting the rest as lost. */
const SETTLE_MS = 500;
/** "busy" recipients are drained every this many broadcasts: at most this many datagrams wait in any socket. */
const BUSY_SETTLE_EVERY = 16;

/**
 * Whether recipients are asleep when a broadcast starts. On loopback the sender pays for delivery, and
 * waking a sleeping receiver process costs more than the send itself (an IPI on this VM), so both regimes are shown:
 * - idle: drained before every sample, as when chat lines are sparse;
 * - busy: drained every BUSY_SETTLE_EVERY samples, as under load, when receivers are already awake.
 */
type Regime = "idle" | "busy";

/** Everything the three senders share: the recipients and a tally of what was sent to them. */
interface Rig {
  readonly recipients: Recipients;
  readonly socket: Bun.udp.Socket<"buffer">;
  readonly node: dgram.Socket;
  /** Datagrams sent to the recipients so far, by every benchmark. */
  sent: number;
  /** Broadcasts so far, for the busy regime's settling rhythm. */
  broadcasts: number;
  /** Datagrams the recipients never got (their buffer was full, or the drainer fell behind by SETTLE_MS). */
  lost: number;
  /** The sendmmsg paths over `socket`, opened on first use and closed with the rig. */
  readonly paths: Partial<Record<SendSocketKind, Promise<SendPath>>>;
}

type SendSocketKind = "own" | "send-only";
const sendSockets: SendSocketKind[] = ["own", "send-only"];

let rig: Promise<Rig> | undefined;
const notes: string[] = [];

async function openRig(count: number): Promise<Rig> {
  const recipients = await Recipients.spawn(count);
  const socket = await Bun.udpSocket({ hostname: LOOPBACK });
  const node = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => node.bind(0, LOOPBACK, resolve));
  return { recipients, socket, node, sent: 0, broadcasts: 0, lost: 0, paths: {} };
}

// Between samples, untimed: wait until the recipients have drained everything sent so far.
async function settle(r: Rig, regime: Regime): Promise<void> {
  if (regime === "busy" && ++r.broadcasts % BUSY_SETTLE_EVERY !== 0) return;
  const got = await r.recipients.reach(r.sent, SETTLE_MS);
  if (got < r.sent) {
    r.lost += r.sent - got;
    r.sent = got;
  }
}

// One sample per broadcast of a "hello" line from alice to `n` recipients (mitata's manual timing), then a note
// if the kernel pushed back: the sample was then not the plain send path.
async function* timedBroadcasts(r: Rig, fan: FanOut, stats: RelayStats, n: number, regime: Regime, label: string) {
  const frame = fan.frame(encodePrefix("alice"), payload);
  yield {
    async manual() {
      await settle(r, regime);
      const t0 = Bun.nanoseconds();
      fan.broadcast(frame);
      const t1 = Bun.nanoseconds();
      r.sent += n;
      return t1 - t0;
    },
  };
  if (stats.backpressureEvents + stats.sendErrors > 0 || fan.backlogSize > 0) {
    notes.push(`${label} N=${n}: ${stats.backpressureEvents} full-buffer events, ${stats.sendErrors} send errors, ${fan.backlogSize} left queued`);
  }
}

// A registry of the first `n` recipients, as the relay would hold them after `n` joins (mirrored to `mirror`).
function registryOf(r: Rig, n: number, mirror?: Parameters<Registry["attach"]>[0]): Registry {
  const registry = new Registry();
  if (mirror !== undefined) registry.attach(mirror);
  for (let i = 0; i < n; i++) registry.add(`r${i}`, LOOPBACK, r.recipients.ports[i]!, 0);
  return registry;
}

export const broadcastGroup: BenchGroup = {
  name: "broadcast",
  title: "One broadcast to N real loopback recipients (drained by a child process)",
  per: { arg: "n", label: "per recipient" },
  register(quick) {
    const ns = sweep(quick, [1, 10, 100, 1000, 10_000], [100]);
    const regimes = sweep<Regime>(quick, ["idle", "busy"], ["busy"]);
    // 0 = everyone in one sendMany call (the relay sends CHUNK_CLIENTS per call).
    const chunks = sweep(quick, [0, 64, 512], [64]);
    const maxN = Math.max(...ns);
    const prefix = encodePrefix("alice");

    group("broadcast: one line to N recipients (time per broadcast; each sample is one broadcast)", () => {
      summary(() => {
        bench("FanOut.broadcast: sendMany per 1024-client chunk (N=$n, $recipients)", async function* (state: BenchState) {
          const n = state.get("n") as number;
          const regime = state.get("recipients") as Regime;
          const r = await (rig ??= openRig(maxN));
          const stats = new RelayStats();
          const fan = new FanOut(r.socket, registryOf(r, n), stats, 2048, 1 << 18);
          yield* timedBroadcasts(r, fan, stats, n, regime, "sendMany");
        })
          .args({ n: ns, recipients: regimes })
          .baseline();

        // "own": sendmmsg on the Bun socket, which Bun's epoll watches; "send-only": on a socket beside it that
        // nothing polls, as the relay does (src/send-socket.ts). The difference is the kernel's write-space wake-up.
        bench("FanOut.broadcast: sendmmsg path, one call per 1024 clients (N=$n, $recipients, $socket socket)", async function* (state: BenchState) {
          const n = state.get("n") as number;
          const regime = state.get("recipients") as Regime;
          const which = state.get("socket") as SendSocketKind;
          const r = await (rig ??= openRig(maxN));
          const path = await (r.paths[which] ??= chooseSendPath("sendmmsg", r.socket, { sendOnlySocket: which === "send-only", sendBufferBytes: 0 }));
          if (which === "send-only" && !path.why.includes("send-only")) notes.push(`no send-only socket here: ${path.why}`);
          const stats = new RelayStats();
          const fan = new FanOut(r.socket, registryOf(r, n, path.sender!), stats, 2048, 1 << 18, 0, path.sender);
          yield* timedBroadcasts(r, fan, stats, n, regime, `sendmmsg (${which})`);
        }).args({ n: ns, recipients: regimes, socket: sendSockets });

        bench("sendMany, $chunk recipients per call (0: all) (N=$n, $recipients)", async function* (state: BenchState) {
          const n = state.get("n") as number;
          const regime = state.get("recipients") as Regime;
          const chunk = state.get("chunk") as number;
          const r = await (rig ??= openRig(maxN));
          // The relay's packets, re-split: what FanOut would send with another batch size (0: one call for all).
          const packets = registryOf(r, n).chunks.flat();
          const frame = Buffer.concat([prefix, payload]);
          for (let i = 0; i < packets.length; i += 3) packets[i] = frame;
          const batches: PacketSlot[][] = [];
          const step = (chunk === 0 ? n : chunk) * 3;
          for (let i = 0; i < packets.length; i += step) batches.push(packets.slice(i, i + step));
          const socket = r.socket;
          yield {
            async manual() {
              await settle(r, regime);
              let sent = 0;
              const t0 = Bun.nanoseconds();
              for (let i = 0; i < batches.length; i++) sent += socket.sendMany(batches[i]!);
              const t1 = Bun.nanoseconds();
              if (sent !== n) throw new Error(`sendMany sent ${sent} of ${n}`);
              r.sent += n;
              return t1 - t0;
            },
          };
        }).args({ n: ns, recipients: regimes, chunk: chunks });

        bench("Bun socket.send() loop (N=$n, $recipients)", async function* (state: BenchState) {
          const n = state.get("n") as number;
          const regime = state.get("recipients") as Regime;
          const r = await (rig ??= openRig(maxN));
          const clients = registryOf(r, n).all();
          const frame = new Uint8Array(prefix.length + payload.length);
          frame.set(prefix);
          frame.set(payload, prefix.length);
          const socket = r.socket;
          yield {
            async manual() {
              await settle(r, regime);
              let ok = 0;
              const t0 = Bun.nanoseconds();
              for (let i = 0; i < clients.length; i++) {
                const c = clients[i]!;
                if (socket.send(frame, c.port, c.address)) ok++;
              }
              const t1 = Bun.nanoseconds();
              do_not_optimize(ok);
              r.sent += n;
              return t1 - t0;
            },
          };
        }).args({ n: ns, recipients: regimes });

        bench("node:dgram send() loop, until last callback (N=$n, $recipients)", async function* (state: BenchState) {
          const n = state.get("n") as number;
          const regime = state.get("recipients") as Regime;
          const r = await (rig ??= openRig(maxN));
          const clients = registryOf(r, n).all();
          const frame = Buffer.concat([prefix, payload]);
          const node = r.node;
          yield {
            async manual() {
              await settle(r, regime);
              let left = clients.length;
              const t0 = Bun.nanoseconds();
              // Callbacks, not the loop's end: dgram may finish a send after send() returns.
              await new Promise<void>((resolve) => {
                const sent = () => {
                  if (--left === 0) resolve();
                };
                for (let i = 0; i < clients.length; i++) {
                  const c = clients[i]!;
                  node.send(frame, c.port, c.address, sent);
                }
              });
              const t1 = Bun.nanoseconds();
              r.sent += n;
              return t1 - t0;
            },
          };
        }).args({ n: ns, recipients: regimes });
      });
    });
  },
  notes() {
    return notes.splice(0);
  },
  async close() {
    if (rig === undefined) return;
    const r = await rig;
    rig = undefined;
    await settle(r, "idle");
    notes.push(`recipients received ${r.recipients.received} datagrams; ${r.lost} never arrived`);
    r.recipients.close();
    r.socket.close();
    for (const path of Object.values(r.paths)) (await path).close();
    r.node.close();
  },
};

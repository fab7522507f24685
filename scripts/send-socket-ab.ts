// Interleaved A/B of the sendmmsg path's two sockets: the relay's own (which Bun's epoll watches) and the send-only
// socket beside it (src/send-socket.ts). The difference is a few per cent, smaller than this machine's drift between
// runs, so the two alternate broadcast by broadcast (A B, then B A) and the median of per-pair ratios is quoted.

import { FanOut } from "../src/fanout.ts";
import { integer, readFlags } from "../src/flags.ts";
import { encodePrefix } from "../src/protocol/wire.ts";
import { Registry } from "../src/registry.ts";
import { chooseSendPath, type SendPath } from "../src/sendmmsg.ts";
import { RelayStats } from "../src/stats.ts";
import { parseOrExit, usageText } from "../src/usage.ts";
import { Recipients } from "../bench/recipients.ts";
import { median } from "./stats.ts";

const abFlags = {
  clients: integer({ section: "Options:", flag: "clients", default: 1000, min: 1, max: 20_000, help: "recipients of each broadcast" }),
  pairs: integer({ flag: "pairs", default: 400, min: 1, max: 100_000, help: "broadcasts of each kind, alternating" }),
} as const;
const usage = usageText(
  {
    command: "bun run scripts/send-socket-ab.ts",
    about: `One line to --clients loopback recipients (drained by a child process), sent by fan-out's
sendmmsg path from the relay's own socket and from a send-only socket beside it, alternating;
prints the medians (wall time per recipient), the median of per-pair ratios, and the process
CPU ratio. Linux only.`,
    footer: "Exit: 0 done, 1 no send-only socket here (the line says why), 2 bad flags.",
  },
  abFlags,
);
const { clients: n, pairs } = parseOrExit(usage, () => readFlags(abFlags, Bun.argv.slice(2))).values;

const recipients = await Recipients.spawn(n);
const socket = await Bun.udpSocket({ hostname: "127.0.0.1", socket: { data() {} } });
const own = await chooseSendPath("sendmmsg", socket, { sendOnlySocket: false, sendBufferBytes: 0 });
const sendOnly = await chooseSendPath("sendmmsg", socket, { sendOnlySocket: true, sendBufferBytes: 0 });
if (!sendOnly.why.includes("send-only socket (fd")) {
  process.stderr.write(`error: ${sendOnly.why}\n`);
  process.exit(1);
}

function fanOutOver(path: SendPath): FanOut {
  const registry = new Registry();
  registry.attach(path.sender!);
  for (let i = 0; i < n; i++) registry.add(`r${i}`, "127.0.0.1", recipients.ports[i]!, 0);
  return new FanOut(socket, registry, new RelayStats(), 2048, 1 << 18, 0, path.sender);
}
const fans = [fanOutOver(own), fanOutOver(sendOnly)] as const;
const frame = fans[0].frame(encodePrefix("alice"), new TextEncoder().encode("hello, world! how are you?"));
const wallNs: [number[], number[]] = [[], []];
const cpuUs = [0, 0];
let sent = 0;
for (let pair = 0; pair < pairs; pair++) {
  for (const k of pair % 2 === 0 ? [0, 1] : [1, 0]) {
    const c0 = process.cpuUsage();
    const t0 = Bun.nanoseconds();
    fans[k as 0 | 1].broadcast(frame);
    wallNs[k as 0 | 1].push(Bun.nanoseconds() - t0);
    const c = process.cpuUsage(c0);
    cpuUs[k]! += c.user + c.system;
    sent += n;
  }
  // Recipients stay awake and their buffers never fill: drained every 8 pairs (untimed).
  if (pair % 8 === 7) await recipients.reach(sent, 2000);
}
const lost = sent - (await recipients.reach(sent, 2000));
const perRecipient = (xs: number[]) => (median(xs) / n).toFixed(0);
const ratios = wallNs[0].map((a, i) => wallNs[1][i]! / a);
console.log(`${n} recipients, ${pairs} pairs: own socket ${perRecipient(wallNs[0])} ns, send-only ${perRecipient(wallNs[1])} ns per recipient (medians)`);
console.log(`send-only / own: ${median(ratios).toFixed(3)} (median of per-pair wall ratios), ${(cpuUs[1]! / cpuUs[0]!).toFixed(3)} (process CPU)${lost > 0 ? `; ${lost} datagrams lost` : ""}`);
recipients.close();
socket.close();
own.close();
sendOnly.close();

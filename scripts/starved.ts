// Periodic work on a flooded relay: when a notice summary, an idle timeout and --state writes happen, and how long
// SIGINT takes to stop it, while a flood keeps its socket always readable (docs/hardening.md, "Floods and the event loop").

import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decimal, integer, readFlags } from "../src/flags.ts";
import { parseOrExit, usageText } from "../src/usage.ts";

const starvedFlags = {
  flood: decimal({ section: "Options:", flag: "flood", default: 5, min: 0.5, max: 60, help: "seconds the flood lasts" }),
  sigintAt: decimal({ flag: "sigint-at", default: 3, min: 0, max: 60, help: "seconds into the flood to send SIGINT, 0 = never" }),
  flooders: integer({ flag: "flooders", default: 100, min: 1, max: 1000, help: "registered sockets the flood comes from (never read)" }),
  rate: integer({ flag: "rate", default: 60_000, min: 0, max: 1_000_000, help: "lines a second the flood offers, 0 = no flood" }),
} as const;
const usage = usageText(
  {
    command: "bun run scripts/starved.ts",
    about: `Spawns this project's relay with --rate-limit 0 --idle-timeout 2 --notice-rate 1 --state FILE
--state-interval 1, joins two observers (idle: silent; watch: pings every 20 ms), floods it from a
child process, and prints, in seconds from the joins, every [SERVER] notice the observers get, every
state file write, the SIGINT and the exit. Due: the summary of joins ~1 s, idle's timeout 2-2.5 s, a
write each second while anything changed. Loopback only; the relay is killed 8 s after the flood.`,
    footer: "Exit: 0 done, 2 bad flags.",
  },
  starvedFlags,
);
const { flood, sigintAt, flooders, rate } = parseOrExit(usage, () => readFlags(starvedFlags, Bun.argv.slice(2))).values;

const root = join(import.meta.dir, "..");
const bun = process.execPath;
const dir = mkdtempSync(join(tmpdir(), "starved-"));
const stateFile = join(dir, "relay.state");
const decoder = new TextDecoder();
const events: [number, string][] = [];
let t0 = performance.now();
const note = (what: string) => events.push([performance.now() - t0, what]);

const args = ["--port", "0", "--rate-limit", "0", "--idle-timeout", "2", "--quiet", "--notice-rate", "1", "--state", stateFile, "--state-interval", "1"];
const relay = Bun.spawn([bun, "run", "src/server.ts", ...args], { cwd: root, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
const port = await runningPort(relay.stdout);

async function observer(name: string) {
  return Bun.udpSocket({
    hostname: "127.0.0.1",
    socket: {
      data(_s, data) {
        if (data[0] !== 0x5b) return; // '[': only notices are decoded
        const text = decoder.decode(data);
        if (text !== "[SERVER] pong") note(`${name}: ${text.slice(0, 80)}`);
      },
      error() {},
    },
  });
}
const idle = await observer("idle");
const watch = await observer("watch");
t0 = performance.now();
idle.send("idle", port, "127.0.0.1");
watch.send("watch", port, "127.0.0.1");
const pinger = setInterval(() => watch.send("/ping", port, "127.0.0.1"), 20);
let mtimeMs = statSync(stateFile).mtimeMs;
const statePoll = setInterval(() => {
  const m = statSync(stateFile, { throwIfNoEntry: false })?.mtimeMs;
  if (m !== undefined && m !== mtimeMs) note("state file written");
  if (m !== undefined) mtimeMs = m;
}, 5);

const flooder = Bun.spawn([bun, "scripts/starved-flooder.ts", String(port), String(flooders), String(rate), String(flood * 1000)], { cwd: root, stdout: "pipe", stderr: "inherit" });
const flooderOut = flooder.stdout.getReader();
await flooderOut.read(); // "flooding"
note(`flood starts (${rate} lines/s from ${flooders} sockets for ${flood} s)`);
const floodEnd = performance.now() + flood * 1000;
const exited = relay.exited.then((code) => note(`relay exited ${code}`));
if (sigintAt > 0) {
  setTimeout(() => {
    relay.kill("SIGINT");
    note("SIGINT sent");
  }, sigintAt * 1000);
}
const flooderDone = flooder.exited.then(() => note("flood ends"));
await Promise.race([exited, Bun.sleep(floodEnd + 8000 - performance.now())]);
await Promise.race([flooderDone, Bun.sleep(2000)]);
clearInterval(pinger);
clearInterval(statePoll);
if (relay.exitCode === null) {
  note("relay still running: killed");
  relay.kill("SIGKILL");
}
flooder.kill("SIGKILL");
idle.close();
watch.close();
rmSync(dir, { recursive: true, force: true });
for (const [at, what] of events.sort((a, b) => a[0] - b[0])) process.stdout.write(`${(at / 1000).toFixed(3).padStart(7)}  ${what}\n`);
const summary = (await new Response(relay.stderr).text()).split("\n").find((l) => l.startsWith("[SERVER] Summary"));
process.stdout.write(`${summary ?? "(no summary: the relay was killed)"}\n`);
process.exit(0);

async function runningPort(stdout: ReadableStream<Uint8Array>): Promise<number> {
  const reader = stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("relay did not start");
    text += decoder.decode(value);
  }
  void (async () => {
    while (!(await reader.read()).done);
  })();
  return Number(/Running on .*:(\d+)/.exec(text)?.[1]);
}

// Restart under load (issue 14): the load generator runs through a SIGTERM and restart of the relay with the same --state.
// Usage: bun run scripts/restart-under-load.ts [--clients 200] [--rate 200] [--duration 10] [--restart-at 4] [--no-state]
// Prints one JSON line: the load generator's loss accounting, the gap a probe client saw, and whether anyone was renamed.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    clients: { type: "string", default: "200" },
    rate: { type: "string", default: "200" },
    duration: { type: "string", default: "10" },
    "restart-at": { type: "string", default: "4" },
    "no-state": { type: "boolean", default: false },
  },
});
const root = join(import.meta.dir, "..");
const bun = process.execPath;
const dir = mkdtempSync(join(tmpdir(), "restart-under-load-"));
const stateFile = join(dir, "relay.state");
// ICMP port unreachable while the relay is down surfaces as an error on this socket: expected, ignored.
const probe = await Bun.udpSocket({ hostname: "127.0.0.1", socket: { data: (_s, d) => onProbe(new TextDecoder().decode(d)), error: () => {} } });
const port = await freePort();
const relayArgs = ["--port", String(port), "--rate-limit", "0", "--quiet", ...(values["no-state"] ? [] : ["--state", stateFile])];

type Relay = { proc: Bun.Subprocess<"ignore", "pipe", "pipe">; stderr: Promise<string> };
async function startRelay(): Promise<Relay> {
  const proc = Bun.spawn([bun, "run", "src/server.ts", ...relayArgs], { cwd: root, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const reader = proc.stdout.getReader();
  let out = "";
  while (!out.includes("Running on")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`relay did not start: ${await new Response(proc.stderr).text()}`);
    out += new TextDecoder().decode(value);
  }
  void (async () => {
    while (!(await reader.read()).done);
  })();
  return { proc, stderr: new Response(proc.stderr).text() };
}

// The probe: a client of its own that says a numbered line every 5 ms and times its own echoes; it also reads every
// join notice, which is where a renamed client would show (a chat line taken for a name).
const PROBE_EVERY_MS = 5;
const echoes: { seq: number; atMs: number }[] = [];
const joinNotices: string[] = [];
let probeJoined = false;
function onProbe(line: string): void {
  if (line === "[SERVER] probe has joined the chat.") probeJoined = true;
  else if (line.startsWith("probe ~ p ")) echoes.push({ seq: Number(line.slice(10)), atMs: performance.now() });
  else if (line.startsWith("[SERVER]") && line.includes("joined")) joinNotices.push(line);
}

let relay = await startRelay();
probe.send("probe", port, "127.0.0.1");
while (!probeJoined) await Bun.sleep(5);
let seq = 0;
const ticker = setInterval(() => probe.send(`p ${seq++}`, port, "127.0.0.1"), PROBE_EVERY_MS);

const load = Bun.spawn(
  [bun, "run", "src/load.ts", "--port", String(port), "--clients", values.clients, "--rate", values.rate, "--duration", values.duration, "--json", "--quiet"],
  { cwd: root, stdout: "pipe", stderr: "pipe" },
);
const loadOut = new Response(load.stdout).text();
const loadErr = new Response(load.stderr).text();
await Bun.sleep(Number(values["restart-at"]) * 1000);

const sigtermAt = performance.now();
const seqAtSigterm = seq;
relay.proc.kill("SIGTERM");
await relay.proc.exited;
const oldStderr = await relay.stderr;
const exitedAt = performance.now();
relay = await startRelay();
const runningAt = performance.now();

const summary = JSON.parse((await loadOut).trim().split("\n").at(-1)!) as Record<string, unknown>;
await load.exited;
clearInterval(ticker);
await Bun.sleep(200);
relay.proc.kill("SIGTERM");
await relay.proc.exited;
const newStderr = await relay.stderr;
probe.close();
rmSync(dir, { recursive: true, force: true });

// The gap: the probe's last echo before the restart to its first one after.
const before = echoes.filter((e) => e.atMs < exitedAt).at(-1);
const after = echoes.find((e) => e.atMs > exitedAt);
const seen = new Set(echoes.map((e) => e.seq));
let probeLost = 0;
for (let i = 0; i < seq - 1; i++) if (!seen.has(i)) probeLost++;
const loadNames = /^c\d+-/;
const renamed = joinNotices.filter((l) => {
  const m = /^\[SERVER\] (.*) has joined the chat\.$/.exec(l);
  return m !== null && !loadNames.test(m[1]!) && m[1] !== "probe";
});
console.log(
  JSON.stringify({
    state: !values["no-state"],
    clients: Number(values.clients),
    rate: Number(values.rate),
    duration_s: Number(values.duration),
    sigterm_to_exit_ms: Math.round(exitedAt - sigtermAt),
    exit_to_running_ms: Math.round(runningAt - exitedAt),
    probe_gap_ms: before !== undefined && after !== undefined ? Math.round(after.atMs - before.atMs) : null,
    probe_lines_sent: seq,
    probe_lines_lost: probeLost,
    probe_lines_sent_after_sigterm_lost: [...Array(seq - seqAtSigterm).keys()].filter((i) => !seen.has(seqAtSigterm + i)).length,
    load: {
      sent: summary.sent,
      expected: summary.expected,
      delivered: summary.delivered,
      lost: summary.lost,
      loss: summary.loss,
      registered: summary.registered,
      icmp_errors: summary.icmp_errors,
      warnings: summary.warnings,
    },
    renamed_join_notices: renamed.length,
    join_notices_seen: joinNotices.length,
    relay_stderr: [oldStderr.trim(), newStderr.trim()],
    load_stderr_tail: (await loadErr).trim().split("\n").slice(-3),
  }),
);

async function freePort(): Promise<number> {
  const s = await Bun.udpSocket({ hostname: "127.0.0.1" });
  const p = s.port;
  s.close();
  return p;
}

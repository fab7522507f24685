// Bench helper process: many real loopback UDP recipients that drain what arrives and report counts and arrival times over IPC.

// One process owns every recipient socket, so the bench process keeps its file descriptors and its core,
// and arrival times for one line are all read from this process's clock.

import type { DrainerCommand, DrainerReply } from "./recipients.ts";

const LOOPBACK = "127.0.0.1";

const sockets: Bun.udp.Socket<"buffer">[] = [];
let received = 0;
let lastArrivalMs = 0;

// A pending `reach`: reply once `received` gets there.
let reachTarget = Number.POSITIVE_INFINITY;
let reachTimer: ReturnType<typeof setTimeout> | undefined;

// A pending `line`: arrival times of the copies that end in `lineTag`.
let lineTag = -1;
let lineExpect = 0;
let lineGot = 0;
let lineSentNs = 0;
let lineFirstNs = 0;
let lineLastNs = 0;
let lineTimer: ReturnType<typeof setTimeout> | undefined;

function reply(message: DrainerReply): void {
  process.send!(message);
}

// hot path: every datagram any recipient gets
function onData(_socket: unknown, data: Buffer): void {
  received++;
  if (lineTag >= 0 && data[data.length - 1] === lineTag) {
    const t = Bun.nanoseconds();
    if (lineGot === 0) lineFirstNs = t;
    lineLastNs = t;
    if (++lineGot === lineExpect) finishLine(lineGot);
  }
  if (received >= reachTarget) finishReach();
  lastArrivalMs = performance.now();
}

function finishReach(): void {
  reachTarget = Number.POSITIVE_INFINITY;
  clearTimeout(reachTimer);
  reply({ op: "reach", received });
}

function finishLine(got: number): void {
  lineTag = -1;
  clearTimeout(lineTimer);
  reply({ op: "line", got, firstNs: lineFirstNs - lineSentNs, lastNs: lineLastNs - lineSentNs });
}

async function open(count: number): Promise<void> {
  // Open in parallel chunks: one at a time takes seconds at 10 000 sockets.
  while (sockets.length < count) {
    const chunk = Math.min(256, count - sockets.length);
    const opened = await Promise.all(
      Array.from({ length: chunk }, () => Bun.udpSocket({ hostname: LOOPBACK, socket: { data: onData } })),
    );
    sockets.push(...opened);
  }
  reply({ op: "open", ports: sockets.map((s) => s.port) });
}

function handle(cmd: DrainerCommand): void {
  switch (cmd.op) {
    case "open":
      void open(cmd.count);
      return;
    case "reach":
      if (received >= cmd.total) {
        reply({ op: "reach", received });
        return;
      }
      reachTarget = cmd.total;
      reachTimer = setTimeout(finishReach, cmd.timeoutMs);
      return;
    case "join":
      // Each socket's first datagram is its name: the relay registers it.
      for (let i = cmd.from; i < cmd.to; i++) sockets[i]!.send(`r${i}`, cmd.relayPort, LOOPBACK);
      reply({ op: "join" });
      return;
    case "quiet": {
      const started = performance.now();
      const poll = setInterval(() => {
        const now = performance.now();
        if (now - Math.max(lastArrivalMs, started) >= cmd.ms) {
          clearInterval(poll);
          reply({ op: "quiet", received });
        }
      }, 1);
      return;
    }
    case "line": {
      // Socket 0 is a registered client: it speaks, and (echo on) hears its own line like everyone else.
      lineTag = cmd.tag;
      lineExpect = cmd.expect;
      lineGot = 0;
      lineTimer = setTimeout(() => finishLine(lineGot), cmd.timeoutMs);
      const payload = cmd.text;
      lineSentNs = Bun.nanoseconds();
      sockets[0]!.send(payload, cmd.relayPort, LOOPBACK);
      return;
    }
  }
}

process.on("message", (message) => handle(message as DrainerCommand));
// The bench process went away: nothing left to drain for.
process.on("disconnect", () => process.exit(0));

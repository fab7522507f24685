// Soak test (not in CI): a relay under hours-shaped churn and abuse; prints its RSS and counters over time.
// The relay runs in this process (so RSS is the relay's); the clients, the junk and the floods run in a child,
// this same file started with SOAK_LOAD_PORT set (an internal hand-off, not a flag a user gives).

import { defaults } from "../src/config.ts";
import { choice, decimal, integer, parseInteger, readFlags, seconds } from "../src/flags.ts";
import { type Relay, startRelay } from "../src/relay.ts";
import { validateAddresses } from "../src/defence/validation.ts";
import { challengeReply } from "../src/protocol/answer.ts";
import { parseOrExit, usageText } from "../src/usage.ts";

/** Set in the child that runs the load: the relay's port. */
const LOAD_PORT_ENV = "SOAK_LOAD_PORT";

const soakFlags = {
  minutes: decimal({ section: "Options:", flag: "minutes", arg: "M", default: 10, min: 0.05, max: 10_080, help: "how long the churn runs" }),
  everyMs: seconds({ flag: "every", defaultMs: 30_000, max: 3600, never: false, help: "seconds between samples of RSS and counters" }),
  clients: integer({ flag: "clients", default: 300, min: 1, max: 10_000, help: "clients kept churning (joining, chatting, leaving, vanishing)" }),
  verify: choice({ flag: "verify", arg: "on|off", choices: ["on", "off"], default: "on", help: "the relay's address validation (challenges)" }),
} as const;
const usage = usageText(
  {
    command: "bun run scripts/soak.ts",
    about: `Soak test (not in CI): a relay in this process under hours-shaped churn and abuse from a child
process (joins with challenges, chat, /who, leaves, vanished clients, floods, junk from 32 sources);
prints its RSS and counters every --every seconds, then its summary and a Markdown table.
Loopback only.`,
    footer: `Also runs as: bun run soak -- [options]
Exit: 0 done, 1 the load process failed, 2 bad flags.`,
  },
  soakFlags,
);
const { minutes, everyMs, clients: targetClients, verify } = parseOrExit(usage, () => readFlags(soakFlags, Bun.argv.slice(2))).values;
const HOST = "127.0.0.1";
/** Vanished clients are swept after this long, so the soak sees timeouts and remembered names churn. */
const IDLE_TIMEOUT_MS = 20_000;
const TICK_MS = 100;
/** An unanswered join is retried this often, and given up (socket replaced) after JOIN_GIVE_UP_MS. */
const JOIN_RETRY_MS = 2000;
const JOIN_GIVE_UP_MS = 10_000;
const HEADER = ["t (s)", "RSS (MiB)", "heap (MiB)", "clients", "remembered", "joins", "leaves", "timeouts", "lines", "deliveries", "challenges", "drops"];

const loadPort = process.env[LOAD_PORT_ENV];
if (loadPort !== undefined) await runLoad(parseInteger(LOAD_PORT_ENV, loadPort, 0, 1, 65535), minutes * 60_000);
else await runRelay();

async function runRelay(): Promise<void> {
  const relay = await startRelay({ ...defaults, port: 0, quiet: true, verifyAddress: verify, idleTimeoutMs: IDLE_TIMEOUT_MS }, undefined, { admission: validateAddresses });
  console.log(`soak: relay on ${relay.endpoint}, ${minutes} min, ${targetClients} clients churning, address validation ${verify}`);
  const load = Bun.spawn([process.execPath, import.meta.path, "--minutes", String(minutes), "--clients", String(targetClients)], {
    env: { ...process.env, [LOAD_PORT_ENV]: String(relay.port) },
    stdout: "inherit",
    stderr: "inherit",
  });
  const t0 = performance.now();
  const rows: string[][] = [];
  const sample = () => {
    const row = snapshot(relay, performance.now() - t0);
    rows.push(row);
    console.log(row.join("  "));
  };
  sample();
  const timer = setInterval(sample, everyMs);
  const loadExit = await load.exited;
  clearInterval(timer);
  if (loadExit !== 0) {
    console.error(`soak: the load process failed (exit ${loadExit})`);
    process.exit(1);
  }
  await Bun.sleep(500); // the load's farewell /quit datagrams
  sample();
  await relay.shutdown();
  console.log(`\n${relay.stats.summary(relay.registry.size)}\n`);
  console.log(`| ${HEADER.join(" | ")} |\n|${HEADER.map(() => "---").join("|")}|`);
  for (const row of rows) console.log(`| ${row.map((cell) => cell.slice(cell.indexOf("=") + 1)).join(" | ")} |`);
}

function snapshot(relay: Relay, ms: number): string[] {
  const mem = process.memoryUsage();
  const s = relay.stats;
  const drops = Object.entries(s.drops)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k}:${n}`)
    .join(" ");
  const mib = (b: number) => (b / 2 ** 20).toFixed(1);
  return [
    `t=${Math.round(ms / 1000)}`,
    `rss=${mib(mem.rss)}`,
    `heap=${mib(mem.heapUsed)}`,
    `clients=${relay.registry.size}`,
    `remembered=${relay.chat.rememberedCount}`,
    `joins=${s.joins}`,
    `leaves=${s.leaves}`,
    `timeouts=${s.timeouts}`,
    `lines=${s.linesRelayed}`,
    `deliveries=${s.deliveries}`,
    `challenges=${s.challenges}`,
    `drops=${drops || "0"}`,
  ];
}

interface SoakClient {
  readonly name: string;
  readonly socket: Bun.udp.Socket<"buffer">;
  joined: boolean;
  /** When the name was last sent: UDP loses datagrams, so an unanswered join is tried again. */
  askedAtMs: number;
}


/** Clients join (answering challenges), chat, run commands, leave, vanish, flood; junk flies. */
async function runLoad(port: number, durationMs: number): Promise<void> {
  const decoder = new TextDecoder();
  const pool: SoakClient[] = [];
  let serial = 0;
  const open = async () => {
    const name = `soak${serial++}`;
    const joinedLine = `[SERVER] ${name} has joined the chat.`;
    const client: SoakClient = {
      name,
      joined: false,
      askedAtMs: performance.now(),
      socket: await Bun.udpSocket({
        hostname: HOST,
        socket: {
          data(s, data) {
            if (client.joined) return;
            const line = decoder.decode(data);
            const reply = challengeReply(line);
            if (reply !== undefined) s.send(reply, port, HOST);
            else if (line === joinedLine) client.joined = true;
          },
          error() {},
        },
      }),
    };
    client.socket.send(name, port, HOST);
    pool.push(client);
  };
  const drop = (i: number, quit: boolean) => {
    const c = pool[i]!;
    if (quit) c.socket.send("/quit", port, HOST);
    // Bun may still hold the /quit in user space: closing in this tick would lose it (the terminal client waits too).
    setTimeout(() => c.socket.close(), 0);
    pool[i] = pool[pool.length - 1]!;
    pool.pop();
  };
  // Junk from 32 sources on 127.2.x.y: random bytes, escapes, fake answers, oversize.
  const junkSockets = await Promise.all(Array.from({ length: 32 }, (_, i) => Bun.udpSocket({ hostname: `127.2.${i % 8}.${1 + (i >> 3)}`, socket: { data() {}, error() {} } })));
  const junk = [new Uint8Array(0), new Uint8Array(9000).fill(0x41), new TextEncoder().encode("\x1b[2J"), new TextEncoder().encode("0000-0000 mallory"), new Uint8Array([0xff, 0xfe, 0x00])];
  const line = "a soak line of ordinary length, about what people type";
  const deadline = performance.now() + durationMs;
  let tick = 0;
  while (performance.now() < deadline) {
    tick++;
    for (let n = 0; n < 20 && pool.length < targetClients; n++) await open();
    const now = performance.now();
    for (let i = pool.length - 1; i >= 0; i--) {
      const c = pool[i]!;
      if (!c.joined) {
        if (now - c.askedAtMs > JOIN_GIVE_UP_MS) drop(i, false);
        else if (now - c.askedAtMs > JOIN_RETRY_MS) c.socket.send(c.name, port, HOST);
        continue;
      }
      // Per 100 ms tick: a line every 10 s, /who every 200 s, leave within ~50 s, vanish within ~100 s.
      // Every line reaches every client in this one process: 300 clients at this rate is ~9000 deliveries a second.
      const r = Math.random();
      if (r < 0.01) c.socket.send(line, port, HOST);
      else if (r < 0.0105) c.socket.send("/who", port, HOST);
      else if (r < 0.0125) drop(i, true); // leaves
      else if (r < 0.0135) drop(i, false); // vanishes: the idle sweep will time it out
    }
    // Every 10 s one client floods 500 lines at once (its bucket lets --burst through).
    if (tick % 100 === 0 && pool[0]?.joined) for (let k = 0; k < 500; k++) pool[0].socket.send(line, port, HOST);
    for (let k = 0; k < 50; k++) junkSockets[k % junkSockets.length]!.send(junk[k % junk.length]!, port, HOST);
    await Bun.sleep(TICK_MS);
  }
  for (let i = pool.length - 1; i >= 0; i--) drop(i, true);
  for (const s of junkSockets) s.close();
  await Bun.sleep(200);
  process.exit(0);
}

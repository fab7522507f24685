// Relay configuration: a pure function of (argv, env) to a frozen object, built on util.parseArgs.

import { ConfigError, parseFlags, parseHost, parseInteger, parseSeconds, parseSwitch } from "./flags.ts";
import { longestNameNoticeBytes, MAX_UDP_PAYLOAD } from "./protocol/wire.ts";
import { CHUNK_CLIENTS } from "./registry.ts";

export { ConfigError, parseHost, parseInteger, parseSeconds, parseSwitch } from "./flags.ts";

/** `--verify-address`: `auto` checks addresses on every bind but loopback (`verifies` decides). */
export const VerifyMode = { on: "on", off: "off", auto: "auto" } as const;
export type VerifyMode = (typeof VerifyMode)[keyof typeof VerifyMode];

/** Everything the relay can be told. Tunables only: wire strings and spec limits live in protocol/wire.ts. */
export interface RelayConfig {
  readonly host: string;
  readonly port: number;
  /** No datagram the relay sends is longer; a line that would be is refused. */
  readonly maxDatagramBytes: number;
  /** Send each line back to its sender too (the original behaviour). */
  readonly echo: boolean;
  /** No per-message console lines. */
  readonly quiet: boolean;
  /** Datagrams held for a full socket buffer before further ones are dropped and counted. */
  readonly sendQueuePackets: number;
  /** Recipients per `sendMany` call: fewer reach the first recipients sooner, more carry more (README, Performance). */
  readonly sendBatchClients: number;
  /** Kernel receive buffer to ask for (0 = OS default): absorbs bursts, such as join storms. */
  readonly recvBufferBytes: number;
  /** Kernel send buffer to ask for (0 = OS default): room for a fan-out before EAGAIN. */
  readonly sendBufferBytes: number;
  /** Longest name, in characters (code points). */
  readonly maxNameChars: number;
  /** A client silent this long is removed from the fan-out; 0 = never. */
  readonly idleTimeoutMs: number;
  /** Registered clients at most; a new address beyond it is told the server is full. */
  readonly maxClients: number;
  /** Timed-out clients whose name is remembered for their return, at most (oldest forgotten first). */
  readonly rememberedNames: number;
  /** How long a timed-out client's name is remembered. */
  readonly rememberMs: number;
  /** Worker threads sharing the port with SO_REUSEPORT; 0 = the relay runs on the main thread (no workers). */
  readonly workers: number;
  /** NATS server of the relay mesh (`nats://host:port`), or undefined for a stand-alone relay. */
  readonly bus: string | undefined;
  /** A node's presence entries in the mesh expire this long after its last refresh (a crashed node's names free up). */
  readonly presenceTtlMs: number;
  /** Datagrams a second a registered client may send on average; 0 = no per-source limit of any kind. */
  readonly rateLimitPerSecond: number;
  /** Datagrams a registered client may send at once, above the average. */
  readonly burst: number;
  /** Joins a second from one source IP (a per-source limit: off with rate limit 0). */
  readonly joinsPerIpPerSecond: number;
  /** Joins a second from everyone; 0 = no cap. */
  readonly joinsPerSecond: number;
  /** Datagrams a second from unregistered addresses of one /24 or /64 (per-source: off with rate limit 0). */
  readonly unknownPerPrefixPerSecond: number;
  /** Datagrams a second from unregistered addresses, all together; 0 = no cap. */
  readonly unknownPerSecond: number;
  /** Whether a new address must prove it receives at its source address before it may join. */
  readonly verifyAddress: VerifyMode;
  /** How often the join-code secret changes; a code lives one to two windows. */
  readonly verifyWindowMs: number;
  /** Deliveries a second the relay's chat lines may cause, 0 = no cap; `auto` = none on loopback, LAN_FANOUT_PER_SECOND otherwise. */
  readonly maxFanoutPerSecond: number | "auto";
}

/**
 * The `auto` fan-out cap for a non-loopback bind: at ~150-byte frames about 300 Mbit/s, a third of a gigabit
 * LAN, and far above any human chat (100 people typing a line a second each is 10 000 deliveries a second).
 */
export const LAN_FANOUT_PER_SECOND = 250_000;

export const defaults: RelayConfig = Object.freeze({
  host: "127.0.0.1",
  port: 65432,
  maxDatagramBytes: 2048,
  echo: true,
  quiet: false,
  sendQueuePackets: 1 << 18,
  sendBatchClients: CHUNK_CLIENTS,
  recvBufferBytes: 4 << 20,
  sendBufferBytes: 4 << 20,
  maxNameChars: 32,
  // The original GUI client never speaks unless its user types, so a listener must survive a long silence;
  // a vanished client meanwhile costs one resumed send per line. An hour keeps a meeting's quiet readers.
  idleTimeoutMs: 3_600_000,
  // The load generator runs 10 000 clients; room for several runs back to back before the idle sweep.
  maxClients: 65_536,
  rememberedNames: 65_536,
  rememberMs: 24 * 3_600_000,
  workers: 0,
  bus: undefined,
  presenceTtlMs: 15_000,
  // A person types a line a second at most; 30 at once covers a pasted paragraph.
  rateLimitPerSecond: 10,
  burst: 30,
  // The load generator's 10 000 clients come from one address: 10 s of joins at 1000 a second.
  joinsPerIpPerSecond: 1000,
  joinsPerSecond: 2000,
  // With address validation a join is two datagrams (name, then code and name): still 10 s for 10 000.
  unknownPerPrefixPerSecond: 2000,
  unknownPerSecond: 20_000,
  verifyAddress: VerifyMode.auto,
  verifyWindowMs: 60_000,
  maxFanoutPerSecond: "auto",
});

/** Most worker threads: more than cores only adds context switches; this bound just catches typos. */
const MAX_WORKERS = 256;

/** Longest --idle-timeout: a week, in seconds. */
const MAX_IDLE_TIMEOUT_S = 604_800;

export const usage = `Usage: bun run src/server.ts [options]

A UDP chat relay. A client's first datagram is its name; every later one is relayed
to all registered clients as "<name> ~ <text>", or is a command (/help lists them).

Options (each also from the environment variable shown):
  --host ADDR          address to bind (RELAY_HOST; default ${defaults.host}; 0.0.0.0 or :: for a LAN)
  --port N             UDP port, 0 = any free one (RELAY_PORT; default ${defaults.port})
  --max-datagram N     largest datagram sent or relayed, in bytes (RELAY_MAX_DATAGRAM; default ${defaults.maxDatagramBytes})
  --no-echo            do not send a line back to its sender (RELAY_NO_ECHO=1)
  --quiet              no per-message console lines (RELAY_QUIET=1)
  --send-queue N       datagrams held while the socket buffer is full (RELAY_SEND_QUEUE; default ${defaults.sendQueuePackets})
  --send-batch N       recipients per sendMany call, 1-65536 (RELAY_SEND_BATCH; default ${defaults.sendBatchClients});
                       smaller reaches the first recipients sooner, larger carries more
  --recv-buffer BYTES  kernel receive buffer to ask for, 0 = OS default (RELAY_RECV_BUFFER; default ${defaults.recvBufferBytes})
  --send-buffer BYTES  kernel send buffer to ask for, 0 = OS default (RELAY_SEND_BUFFER; default ${defaults.sendBufferBytes})
  --max-name N         longest name in characters, 1-64 (RELAY_MAX_NAME; default ${defaults.maxNameChars})
  --idle-timeout S     remove a client silent for S seconds (fractions allowed), 0 = never
                       (RELAY_IDLE_TIMEOUT; default ${defaults.idleTimeoutMs / 1000}); it rejoins by speaking again
  --max-clients N      registered clients at most; newcomers beyond are told the server is full
                       (RELAY_MAX_CLIENTS; default ${defaults.maxClients})
  --workers N          N worker threads share the port (SO_REUSEPORT), 0 = none (RELAY_WORKERS; default 0)
  --bus URL            join a relay mesh over NATS, e.g. nats://127.0.0.1:4222 (RELAY_BUS; default none)

Abuse limits (docs/hardening.md says when each matters):
  --rate-limit N       datagrams a second per client, on average (RELAY_RATE_LIMIT; default ${defaults.rateLimitPerSecond});
                       excess is dropped and the sender told to slow down. 0 = no per-source limit at all
                       (this one, --join-rate, --unknown-rate): for benchmarks and LAN stress tests
  --burst N            datagrams a client may send at once above the average (RELAY_BURST; default ${defaults.burst})
  --join-rate N        joins a second per source IP (RELAY_JOIN_RATE; default ${defaults.joinsPerIpPerSecond})
  --join-rate-total N  joins a second from everyone, 0 = no cap (RELAY_JOIN_RATE_TOTAL; default ${defaults.joinsPerSecond})
  --unknown-rate N     datagrams a second from unregistered addresses per /24 or /64; beyond, dropped
                       unanswered (RELAY_UNKNOWN_RATE; default ${defaults.unknownPerPrefixPerSecond})
  --unknown-rate-total N  the same, all sources together, 0 = no cap (RELAY_UNKNOWN_RATE_TOTAL; default ${defaults.unknownPerSecond})
  --verify-address M   on|off|auto: a new address must echo a code before it joins, so a spoofed source
                       cannot make the relay flood a victim (RELAY_VERIFY_ADDRESS; default auto = on unless
                       bound to loopback)
  --max-fanout-rate N  deliveries a second chat lines may cause, 0 = no cap (RELAY_MAX_FANOUT_RATE;
                       default auto = none on loopback, ${LAN_FANOUT_PER_SECOND} otherwise)
  -h, --help           this text
`;

const options = {
  host: { type: "string" },
  port: { type: "string" },
  "max-datagram": { type: "string" },
  "no-echo": { type: "boolean" },
  quiet: { type: "boolean" },
  "send-queue": { type: "string" },
  "send-batch": { type: "string" },
  "recv-buffer": { type: "string" },
  "send-buffer": { type: "string" },
  "max-name": { type: "string" },
  "idle-timeout": { type: "string" },
  "max-clients": { type: "string" },
  workers: { type: "string" },
  bus: { type: "string" },
  "rate-limit": { type: "string" },
  burst: { type: "string" },
  "join-rate": { type: "string" },
  "join-rate-total": { type: "string" },
  "unknown-rate": { type: "string" },
  "unknown-rate-total": { type: "string" },
  "verify-address": { type: "string" },
  "max-fanout-rate": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** The outcome of reading the command line: a config to run, or a request for help. */
export type ParsedConfig = { readonly help: true } | { readonly help: false; readonly config: RelayConfig };

/**
 * Reads flags, then environment variables, then defaults, in that order of precedence.
 * Throws ConfigError for an unknown flag or a bad value.
 */
export function parseConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ParsedConfig {
  const values = parseFlags(argv, options);
  if (values.help) return { help: true };
  const config: RelayConfig = {
    host: parseHost(values.host ?? env.RELAY_HOST ?? defaults.host),
    port: parseInteger("--port", values.port ?? env.RELAY_PORT, defaults.port, 0, 65535),
    maxDatagramBytes: parseInteger("--max-datagram", values["max-datagram"] ?? env.RELAY_MAX_DATAGRAM, defaults.maxDatagramBytes, 64, MAX_UDP_PAYLOAD),
    echo: !(values["no-echo"] ?? parseSwitch("RELAY_NO_ECHO", env.RELAY_NO_ECHO)),
    quiet: values.quiet ?? parseSwitch("RELAY_QUIET", env.RELAY_QUIET),
    sendQueuePackets: parseInteger("--send-queue", values["send-queue"] ?? env.RELAY_SEND_QUEUE, defaults.sendQueuePackets, 0, 1 << 24),
    sendBatchClients: parseInteger("--send-batch", values["send-batch"] ?? env.RELAY_SEND_BATCH, defaults.sendBatchClients, 1, 65_536),
    recvBufferBytes: parseInteger("--recv-buffer", values["recv-buffer"] ?? env.RELAY_RECV_BUFFER, defaults.recvBufferBytes, 0, 1 << 30),
    sendBufferBytes: parseInteger("--send-buffer", values["send-buffer"] ?? env.RELAY_SEND_BUFFER, defaults.sendBufferBytes, 0, 1 << 30),
    maxNameChars: parseInteger("--max-name", values["max-name"] ?? env.RELAY_MAX_NAME, defaults.maxNameChars, 1, 64),
    idleTimeoutMs: parseSeconds("--idle-timeout", values["idle-timeout"] ?? env.RELAY_IDLE_TIMEOUT, defaults.idleTimeoutMs, MAX_IDLE_TIMEOUT_S),
    maxClients: parseInteger("--max-clients", values["max-clients"] ?? env.RELAY_MAX_CLIENTS, defaults.maxClients, 1, 1_000_000),
    rememberedNames: defaults.rememberedNames,
    rememberMs: defaults.rememberMs,
    workers: parseInteger("--workers", values.workers ?? env.RELAY_WORKERS, defaults.workers, 0, MAX_WORKERS),
    bus: parseBus(values.bus ?? env.RELAY_BUS),
    presenceTtlMs: defaults.presenceTtlMs,
    rateLimitPerSecond: parseInteger("--rate-limit", values["rate-limit"] ?? env.RELAY_RATE_LIMIT, defaults.rateLimitPerSecond, 0, 1_000_000),
    burst: parseInteger("--burst", values.burst ?? env.RELAY_BURST, defaults.burst, 1, 1_000_000),
    joinsPerIpPerSecond: parseInteger("--join-rate", values["join-rate"] ?? env.RELAY_JOIN_RATE, defaults.joinsPerIpPerSecond, 1, 1_000_000),
    joinsPerSecond: parseInteger("--join-rate-total", values["join-rate-total"] ?? env.RELAY_JOIN_RATE_TOTAL, defaults.joinsPerSecond, 0, 1_000_000),
    unknownPerPrefixPerSecond: parseInteger("--unknown-rate", values["unknown-rate"] ?? env.RELAY_UNKNOWN_RATE, defaults.unknownPerPrefixPerSecond, 1, 1_000_000),
    unknownPerSecond: parseInteger("--unknown-rate-total", values["unknown-rate-total"] ?? env.RELAY_UNKNOWN_RATE_TOTAL, defaults.unknownPerSecond, 0, 10_000_000),
    verifyAddress: parseVerifyMode(values["verify-address"] ?? env.RELAY_VERIFY_ADDRESS),
    verifyWindowMs: defaults.verifyWindowMs,
    maxFanoutPerSecond: parseFanoutRate(values["max-fanout-rate"] ?? env.RELAY_MAX_FANOUT_RATE),
  };
  if (config.workers > 0 && config.bus !== undefined) {
    throw new ConfigError("--workers and --bus cannot be combined yet: run one relay per host on the bus, or workers without it");
  }
  const needed = longestNameNoticeBytes(config.maxNameChars);
  if (config.maxDatagramBytes < needed) {
    throw new ConfigError(
      `--max-datagram: ${config.maxDatagramBytes} is too small for names of ${config.maxNameChars} characters; ` +
        `every server notice must fit, which needs at least ${needed} (or a smaller --max-name)`,
    );
  }
  return { help: false, config: Object.freeze(config) };
}

/** The delivery cap a relay with this config applies, resolving `auto` by the bind address; 0 = none. */
export function fanoutCap(config: Pick<RelayConfig, "host" | "maxFanoutPerSecond">): number {
  if (config.maxFanoutPerSecond !== "auto") return config.maxFanoutPerSecond;
  return isLoopback(config.host) ? 0 : LAN_FANOUT_PER_SECOND;
}

/** Whether a relay bound to `host` checks addresses in `mode`: the one place `--verify-address auto` is resolved. */
export function verifies(mode: VerifyMode, host: string): boolean {
  return mode === VerifyMode.on || (mode === VerifyMode.auto && !isLoopback(host));
}

/** Whether per-source limits apply: `--rate-limit 0` lifts them all (the token bucket, joins per IP, unknown datagrams per prefix). */
export function perSourceLimits(config: Pick<RelayConfig, "rateLimitPerSecond">): boolean {
  return config.rateLimitPerSecond > 0;
}

/** 127.0.0.0/8, ::1 and IPv4-mapped loopback: nobody off this host can reach a relay bound there. */
export function isLoopback(host: string): boolean {
  return host.startsWith("127.") || host === "::1" || host.startsWith("::ffff:127.");
}

function parseVerifyMode(value: string | undefined): VerifyMode {
  if (value === undefined) return defaults.verifyAddress;
  const v = value.trim().toLowerCase();
  if (v === VerifyMode.on || v === VerifyMode.off || v === VerifyMode.auto) return v;
  throw new ConfigError(`--verify-address: "${value}" is not one of on, off, auto`);
}

function parseFanoutRate(value: string | undefined): number | "auto" {
  if (value === undefined || value.trim().toLowerCase() === "auto") return "auto";
  return parseInteger("--max-fanout-rate", value, 0, 0, 1_000_000_000);
}

/** A NATS server URL, `nats://host[:port]`, normalised with the port spelt out; undefined when absent or empty. */
export function parseBus(value: string | undefined): string | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  let url: URL | undefined;
  try {
    url = new URL(value.trim());
  } catch {
    url = undefined;
  }
  if (url === undefined || url.protocol !== "nats:" || url.hostname === "" || url.pathname.replace("/", "") !== "") {
    throw new ConfigError(`--bus: "${value}" is not a NATS server URL like nats://127.0.0.1:4222`);
  }
  return `nats://${url.host}${url.port === "" ? ":4222" : ""}`;
}

// Relay configuration: a pure function of (argv, env) to a frozen object, built on util.parseArgs.

import { choice, ConfigError, custom, flagDefaults, type FlagsFor, host, integer, parseHost, parseInteger, readFlags, seconds, text, toggle } from "./flags.ts";
import { formatEndpoint } from "./protocol/endpoint.ts";
import { longestNameNoticeBytes, MAX_UDP_PAYLOAD } from "./protocol/wire.ts";
import { CHUNK_CLIENTS } from "./registry.ts";
import { type Usage, usageText } from "./usage.ts";

export { ConfigError, parseHost, parseInteger, parseSeconds, parseSwitch } from "./flags.ts";

/** `--verify-address`: `auto` checks addresses on every bind but loopback (`verifies` decides). */
export const VerifyMode = { on: "on", off: "off", auto: "auto" } as const;
export type VerifyMode = (typeof VerifyMode)[keyof typeof VerifyMode];

/** `--send-path`: how fan-out hands datagrams to the kernel; `auto` = sendmmsg where its start-up self-check passes. */
export const SendPathMode = { auto: "auto", sendmmsg: "sendmmsg", bun: "bun" } as const;
export type SendPathMode = (typeof SendPathMode)[keyof typeof SendPathMode];

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
  /** Bytes those datagrams may hold (frame copies and bookkeeping), 0 = no byte cap; notices to one client give way first. */
  readonly sendQueueBytes: number;
  /** Recipients per `sendMany` call: fewer reach the first recipients sooner, more carry more (README, Performance). */
  readonly sendBatchClients: number;
  /** libc sendmmsg over preallocated headers, Bun's sendMany, or the first where it works (sendmmsg.ts). */
  readonly sendPath: SendPathMode;
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
  /** Where the registry is kept across restarts (`--state`), or undefined: a restart forgets everyone. */
  readonly stateFile: string | undefined;
  /** The state file is rewritten this often while who-is-who changed: a crash loses at most this much. */
  readonly stateIntervalMs: number;
  /** Datagrams a second a registered client may send on average; 0 = no per-source limit of any kind. */
  readonly rateLimitPerSecond: number;
  /** Datagrams a registered client may send at once, above the average. */
  readonly burst: number;
  /** Joins a second from one source IP (a per-source limit: off with rate limit 0). */
  readonly joinsPerIpPerSecond: number;
  /** Join, leave, rename and timeout notices a second announced by name; the rest of each second's are summed up in one. */
  readonly noticesPerSecond: number;
  /** Registered clients from one IP address at most (a per-source limit). */
  readonly maxClientsPerIp: number;
  /** Registered clients from one /24 (IPv4) or /64 (IPv6) at most (a per-source limit). */
  readonly maxClientsPerNet: number;
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
  /** Where the admin HTTP endpoint listens (metrics, stats, clients, the live page); undefined = none. */
  readonly admin: AdminAddress | undefined;
  /** Bearer token the admin endpoint requires (all but /healthz); required off loopback. */
  readonly adminToken: string | undefined;
}

/** `--admin HOST:PORT`. */
export interface AdminAddress {
  readonly host: string;
  /** 0 = any free port. */
  readonly port: number;
}

/**
 * The `auto` fan-out cap for a non-loopback bind: at ~150-byte frames about 300 Mbit/s, a third of a gigabit
 * LAN, and far above any human chat (100 people typing a line a second each is 10 000 deliveries a second).
 */
export const LAN_FANOUT_PER_SECOND = 250_000;

/** Most worker threads: more than cores only adds context switches; this bound just catches typos. */
const MAX_WORKERS = 256;

/** Longest --idle-timeout: a week, in seconds. */
const MAX_IDLE_TIMEOUT_S = 604_800;

const sendPaths = [SendPathMode.auto, SendPathMode.sendmmsg, SendPathMode.bun] as const;
const verifyModes = [VerifyMode.on, VerifyMode.off, VerifyMode.auto] as const;

/** Every relay flag, keyed by the RelayConfig field it sets; --help lists them in this order. */
const relayFlags = {
  host: host({
    section: "Options (each also from the environment variable shown):",
    flag: "host",
    env: "RELAY_HOST",
    default: "127.0.0.1",
    help: "address to bind; 0.0.0.0 or :: for a LAN",
  }),
  port: integer({ flag: "port", env: "RELAY_PORT", default: 65432, min: 0, max: 65535, help: "UDP port, 0 = any free one" }),
  maxDatagramBytes: integer({
    flag: "max-datagram",
    env: "RELAY_MAX_DATAGRAM",
    default: 2048,
    min: 64,
    max: MAX_UDP_PAYLOAD,
    help: "largest datagram sent or relayed, in bytes",
  }),
  echo: toggle({ flag: "no-echo", env: "RELAY_NO_ECHO", inverted: true, help: "do not send a line back to its sender" }),
  quiet: toggle({ flag: "quiet", env: "RELAY_QUIET", help: "no per-message console lines" }),
  sendQueuePackets: integer({
    flag: "send-queue",
    env: "RELAY_SEND_QUEUE",
    default: 1 << 18,
    min: 0,
    max: 1 << 24,
    help: "datagrams held while the socket buffer is full",
  }),
  // 64 MiB: ~30 000 queued 2 KB frames, at most half of them notices and /msg lines to one client each.
  sendQueueBytes: integer({
    flag: "send-queue-bytes",
    env: "RELAY_SEND_QUEUE_BYTES",
    arg: "BYTES",
    default: 64 << 20,
    min: 0,
    max: 2 ** 34,
    help: "bytes those datagrams may hold, 0 = no byte cap; single-recipient notices give way first",
  }),
  sendBatchClients: integer({
    flag: "send-batch",
    env: "RELAY_SEND_BATCH",
    default: CHUNK_CLIENTS,
    min: 1,
    max: 65_536,
    help: "recipients per sendMany call, 1-65536; smaller reaches the first recipients sooner, larger carries more",
  }),
  sendPath: choice({
    flag: "send-path",
    env: "RELAY_SEND_PATH",
    arg: "P",
    choices: sendPaths,
    default: SendPathMode.auto,
    defaultText: "default auto = sendmmsg if its self-check passes",
    help: `${sendPaths.join("|")}: libc sendmmsg or Bun's sendMany`,
  }),
  recvBufferBytes: integer({
    flag: "recv-buffer",
    env: "RELAY_RECV_BUFFER",
    arg: "BYTES",
    default: 4 << 20,
    min: 0,
    max: 1 << 30,
    help: "kernel receive buffer to ask for, 0 = OS default",
  }),
  sendBufferBytes: integer({
    flag: "send-buffer",
    env: "RELAY_SEND_BUFFER",
    arg: "BYTES",
    default: 4 << 20,
    min: 0,
    max: 1 << 30,
    help: "kernel send buffer to ask for, 0 = OS default",
  }),
  maxNameChars: integer({ flag: "max-name", env: "RELAY_MAX_NAME", default: 32, min: 1, max: 64, help: "longest name in characters, 1-64" }),
  // The original GUI client never speaks unless its user types, so a listener must survive a long silence;
  // a vanished client meanwhile costs one resumed send per line. An hour keeps a meeting's quiet readers.
  idleTimeoutMs: seconds({
    flag: "idle-timeout",
    env: "RELAY_IDLE_TIMEOUT",
    defaultMs: 3_600_000,
    max: MAX_IDLE_TIMEOUT_S,
    never: true,
    help: "remove a client silent for S seconds (fractions allowed), 0 = never; it rejoins by speaking again",
  }),
  // The load generator runs 10 000 clients; room for several runs back to back before the idle sweep.
  maxClients: integer({
    flag: "max-clients",
    env: "RELAY_MAX_CLIENTS",
    default: 65_536,
    min: 1,
    max: 1_000_000,
    help: "registered clients at most; newcomers beyond are told the server is full",
  }),
  workers: integer({
    flag: "workers",
    env: "RELAY_WORKERS",
    default: 0,
    min: 0,
    max: MAX_WORKERS,
    help: "N worker threads share the port (SO_REUSEPORT), 0 = none",
  }),
  bus: custom<string | undefined>({
    flag: "bus",
    env: "RELAY_BUS",
    arg: "URL",
    default: undefined,
    parse: parseBus,
    defaultText: "default none",
    help: "join a relay mesh over NATS, e.g. nats://127.0.0.1:4222",
  }),
  // Off by default: a relay writes nothing to disk unless told where (docs/restarts.md).
  stateFile: text({
    flag: "state",
    env: "RELAY_STATE",
    arg: "FILE",
    default: undefined,
    trim: true,
    nonEmpty: "a file name",
    defaultText: "default none",
    help: "keep who is who in FILE across restarts, crashes and upgrades (recommended for any long-running relay)",
  }),
  stateIntervalMs: seconds({
    flag: "state-interval",
    env: "RELAY_STATE_INTERVAL",
    defaultMs: 5000,
    max: 3600,
    never: false,
    help: "rewrite the --state file this often while it changed; a crash loses at most this much",
  }),
  // A person types a line a second at most; 30 at once covers a pasted paragraph.
  rateLimitPerSecond: integer({
    section: "Abuse limits (docs/hardening.md says when each matters):",
    flag: "rate-limit",
    env: "RELAY_RATE_LIMIT",
    default: 10,
    min: 0,
    max: 1_000_000,
    help:
      "datagrams a second per client, on average; excess is dropped and the sender told to slow down. " +
      "0 = no per-source limit at all (this one, --join-rate, --max-clients-per-ip/-net, --unknown-rate): for benchmarks and LAN stress tests",
  }),
  burst: integer({ flag: "burst", env: "RELAY_BURST", default: 30, min: 1, max: 1_000_000, help: "datagrams a client may send at once above the average" }),
  // One host may fill its --max-clients-per-ip share in a second, not churn faster. (Load runs, 10 000
  // clients from one address, lift every per-source limit with --rate-limit 0.)
  joinsPerIpPerSecond: integer({ flag: "join-rate", env: "RELAY_JOIN_RATE", default: 64, min: 1, max: 1_000_000, help: "joins a second per source IP" }),
  // Each notice goes to everyone: a storm of them costs events × clients. A lone join or leave is still named.
  noticesPerSecond: integer({
    flag: "notice-rate",
    env: "RELAY_NOTICE_RATE",
    default: 3,
    min: 1,
    max: 1_000_000,
    help: "join, leave, rename and timeout notices a second announced by name; the rest of each second's are summed up in one notice (the joiner still hears its own)",
  }),
  // One host cannot fill the server; a LAN's /24 still holds a crowd. A /64 is usually one IPv6 host.
  maxClientsPerIp: integer({
    flag: "max-clients-per-ip",
    env: "RELAY_MAX_CLIENTS_PER_IP",
    default: 64,
    min: 1,
    max: 1_000_000,
    help: "registered clients from one IP address at most; newcomers beyond are told so",
  }),
  maxClientsPerNet: integer({
    flag: "max-clients-per-net",
    env: "RELAY_MAX_CLIENTS_PER_NET",
    default: 1024,
    min: 1,
    max: 1_000_000,
    help: "registered clients from one /24 (IPv4) or /64 (IPv6) at most",
  }),
  joinsPerSecond: integer({
    flag: "join-rate-total",
    env: "RELAY_JOIN_RATE_TOTAL",
    default: 2000,
    min: 0,
    max: 1_000_000,
    help: "joins a second from everyone, 0 = no cap",
  }),
  // With address validation a join is two datagrams (name, then code and name): still 10 s for 10 000.
  unknownPerPrefixPerSecond: integer({
    flag: "unknown-rate",
    env: "RELAY_UNKNOWN_RATE",
    default: 2000,
    min: 1,
    max: 1_000_000,
    help: "datagrams a second from unregistered addresses per /24 or /64; beyond, dropped unanswered",
  }),
  unknownPerSecond: integer({
    flag: "unknown-rate-total",
    env: "RELAY_UNKNOWN_RATE_TOTAL",
    default: 20_000,
    min: 0,
    max: 10_000_000,
    help: "the same, all sources together, 0 = no cap",
  }),
  verifyAddress: choice({
    flag: "verify-address",
    env: "RELAY_VERIFY_ADDRESS",
    arg: "M",
    choices: verifyModes,
    default: VerifyMode.auto,
    defaultText: "default auto = on unless bound to loopback",
    help: `${verifyModes.join("|")}: a new address must echo a code before it joins, so a spoofed source cannot make the relay flood a victim`,
  }),
  maxFanoutPerSecond: custom<number | "auto">({
    flag: "max-fanout-rate",
    env: "RELAY_MAX_FANOUT_RATE",
    arg: "N",
    default: "auto",
    parse: (value, flag) => (value.trim().toLowerCase() === "auto" ? "auto" : parseInteger(flag, value, 0, 0, 1_000_000_000)),
    defaultText: `default auto = none on loopback, ${LAN_FANOUT_PER_SECOND} otherwise`,
    help: "deliveries a second that lines and notices to everyone may cause, 0 = no cap",
  }),
  admin: custom<AdminAddress | undefined>({
    section: "Admin endpoint (docs/admin.md):",
    flag: "admin",
    env: "RELAY_ADMIN",
    arg: "HOST:PORT",
    default: undefined,
    parse: parseAdmin,
    defaultText: "default off",
    help: "serve /metrics (Prometheus), /stats, /clients, /healthz and a live page over HTTP here; port 0 = any free one",
  }),
  adminToken: text({
    flag: "admin-token",
    env: "RELAY_ADMIN_TOKEN",
    arg: "TOKEN",
    default: undefined,
    trim: true,
    nonEmpty: "a token",
    help: "the admin endpoint wants `Authorization: Bearer TOKEN` (not /healthz); required unless it is bound to loopback. Prefer the variable: flags show in ps",
  }),
} as const satisfies FlagsFor<RelayConfig>;

export const defaults: RelayConfig = Object.freeze({
  ...flagDefaults(relayFlags),
  rememberedNames: 65_536,
  rememberMs: 24 * 3_600_000,
  presenceTtlMs: 15_000,
  verifyWindowMs: 60_000,
});

export const usage: Usage = usageText(
  {
    command: "bun run src/server.ts",
    about: `A UDP chat relay. A client's first datagram is its name; every later one is relayed
to all registered clients as "<name> ~ <text>", or is a command (/help lists them).`,
  },
  relayFlags,
);

/** The outcome of reading the command line: a config to run, or a request for help. */
export type ParsedConfig = { readonly help: true } | { readonly help: false; readonly config: RelayConfig };

/**
 * Reads flags, then environment variables, then defaults, in that order of precedence.
 * Throws ConfigError for an unknown flag or a bad value.
 */
export function parseConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ParsedConfig {
  const read = readFlags(relayFlags, argv, env);
  if (read.help) return { help: true };
  const config: RelayConfig = {
    ...read.values,
    rememberedNames: defaults.rememberedNames,
    rememberMs: defaults.rememberMs,
    presenceTtlMs: defaults.presenceTtlMs,
    verifyWindowMs: defaults.verifyWindowMs,
  };
  if (config.admin !== undefined && !isLoopback(config.admin.host) && config.adminToken === undefined) {
    throw new ConfigError(
      `--admin: ${formatEndpoint(config.admin.host, config.admin.port)} is reachable from other hosts; set --admin-token or RELAY_ADMIN_TOKEN too (or bind it to 127.0.0.1)`,
    );
  }
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

/** Whether per-source limits apply: `--rate-limit 0` lifts them all (the token bucket, joins and registered clients per IP and network, unknown datagrams per prefix). */
export function perSourceLimits(config: Pick<RelayConfig, "rateLimitPerSecond">): boolean {
  return config.rateLimitPerSecond > 0;
}

/** 127.0.0.0/8, ::1 and IPv4-mapped loopback: nobody off this host can reach a relay bound there. */
export function isLoopback(host: string): boolean {
  return host.startsWith("127.") || host === "::1" || host.startsWith("::ffff:127.");
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

/** `HOST:PORT` (an IPv6 host in brackets, `localhost` = 127.0.0.1) for --admin; undefined when absent or empty. */
export function parseAdmin(value: string | undefined, flag = "--admin"): AdminAddress | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const v = value.trim();
  const colon = v.lastIndexOf(":");
  const bad = () => new ConfigError(`${flag}: "${value}" is not HOST:PORT, e.g. 127.0.0.1:9100 or [::1]:0`);
  if (colon <= 0) throw bad();
  let hostText = v.slice(0, colon);
  if (hostText.startsWith("[") && hostText.endsWith("]")) hostText = hostText.slice(1, -1);
  else if (hostText.includes(":")) throw bad();
  const portText = v.slice(colon + 1);
  if (!/^\d+$/.test(portText)) throw bad();
  return { host: parseHost(hostText, flag), port: parseInteger(flag, portText, 0, 0, 65535) };
}

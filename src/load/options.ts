// Load generator options: a pure function of argv to a frozen object, built on util.parseArgs.

import { isIP } from "node:net";
import { availableParallelism } from "node:os";
import { ConfigError, custom, decimal, flagDefaults, type FlagsFor, integer, parseInteger, readFlags, text, toggle } from "../flags.ts";
import { MAX_UDP_PAYLOAD } from "../protocol/wire.ts";
import { type Usage, usageText } from "../usage.ts";
import { HEADER_BYTES, MAX_SENDERS } from "./wire.ts";

/** How --help mentions the report subcommand (its own --help says the rest). */
const REPORT_USAGE_LINE = `Also: bun run src/load.ts report A.json [B.json …] --out FILE.html  (runs' --out files on one page)
      bun run src/load.ts agent --bus URL [--name N] [--bind ADDR]  (a host of a fleet run)`;

/** Everything the load generator can be told. */
export interface LoadOptions {
  readonly host: string;
  readonly port: number;
  readonly clients: number;
  readonly senders: number;
  /** Messages per second over all senders. */
  readonly rate: number;
  readonly durationS: number;
  readonly payloadBytes: number;
  /** Joins per second; 0 = as fast as the join window allows. */
  readonly ramp: number;
  readonly workers: number;
  /** Local address for the clients' sockets. */
  readonly bind: string;
  readonly json: boolean;
  readonly jsonStream: boolean;
  readonly out: string | undefined;
  /** A self-contained HTML report to write at the end. */
  readonly report: string | undefined;
  readonly maxLoss: number | undefined;
  readonly maxP99Ms: number | undefined;
  readonly spawnServer: boolean;
  /** A relay process to charge CPU time to, for CPU per delivery. */
  readonly relayPid: number | undefined;
  /** The relay's admin endpoint (http://HOST:PORT/), scraped through the run; --spawn-server wires its own. */
  readonly relayMetrics: string | undefined;
  /** The admin endpoint's bearer token, if it has one. */
  readonly relayMetricsToken: string | undefined;
  /** At the end (and on Ctrl+C) every client sends /quit; --no-leave keeps them registered. */
  readonly leave: boolean;
  /** No live line once a second. */
  readonly quiet: boolean;
  /** The NATS bus a fleet run's agents wait on (with `agents`: this process coordinates instead of generating). */
  readonly bus: string | undefined;
  /** Agents to run over; undefined = generate here. */
  readonly agents: number | undefined;
  /** How long to wait for that many free agents. */
  readonly agentsTimeoutS: number;
}

/** Clients one run can have; each is a socket, so the fd limit is the practical bound. */
export const MAX_CLIENTS = 100_000;

/** What the table reads: LoadOptions, with defaults that depend on another flag still open, and --senders as text. */
type LoadFlagValues = { readonly [K in Exclude<keyof LoadOptions, "senders">]: LoadOptions[K] | undefined } & { readonly senders: string | undefined };

/**
 * Every load generator flag, keyed by the LoadOptions field it sets; --help lists them in this order. Defaults that
 * depend on another flag (senders, workers, bind) are undefined here and settled by parseLoadOptions.
 */
const loadFlags = {
  host: custom({ section: "Target", flag: "host", arg: "ADDR", default: "127.0.0.1", parse: parseTarget, help: "relay address" }),
  port: integer({ flag: "port", default: 65432, min: 1, max: 65535, help: "relay port" }),
  spawnServer: toggle({ flag: "spawn-server", help: "start this project's relay on a free loopback port, run against it, stop it" }),
  bind: custom<string | undefined>({
    flag: "bind",
    arg: "ADDR",
    default: undefined,
    parse: parseBind,
    defaultText: "default: any",
    help: "local address for the clients' sockets, to pick a NIC",
  }),
  clients: integer({ section: "Load", flag: "clients", default: 1000, min: 1, max: MAX_CLIENTS, help: "synthetic clients" }),
  // Its bound is --clients, so its text is checked in parseLoadOptions.
  senders: text({ flag: "senders", arg: "S", default: undefined, defaultText: "default: all", help: "how many of them send" }),
  rate: decimal({ flag: "rate", arg: "R", default: 100, min: 0, max: 1e8, help: "messages per second over all senders; deliveries = R × clients" }),
  durationS: decimal({ flag: "duration", arg: "SECONDS", default: 10, min: 0.1, max: 86_400, help: "how long to send" }),
  payloadBytes: integer({
    flag: "payload",
    arg: "BYTES",
    default: 32,
    min: HEADER_BYTES,
    max: MAX_UDP_PAYLOAD - 64,
    help: `text bytes per message, at least ${HEADER_BYTES}`,
  }),
  ramp: decimal({
    flag: "ramp",
    default: 0,
    min: 0,
    max: 1e7,
    defaultText: "default: as fast as a window of 64 outstanding joins allows",
    help: "joins per second",
  }),
  workers: integer({
    flag: "workers",
    arg: "W",
    default: undefined,
    min: 1,
    max: 256,
    defaultText: `default: cores available, here ${availableParallelism()}`,
    help: "worker threads",
  }),
  json: toggle({ section: "Output", flag: "json", help: "one JSON summary line on stdout (the table goes to stderr)" }),
  jsonStream: toggle({ flag: "json-stream", help: 'one {"interval": …} JSON line per second on stdout, then the summary line as --json' }),
  out: text({ flag: "out", arg: "FILE", default: undefined, nonEmpty: "a file name", help: "also write the JSON summary line to FILE" }),
  report: text({
    flag: "report",
    arg: "FILE",
    default: undefined,
    nonEmpty: "a file name",
    help: "also write a self-contained HTML report (charts over time, latency spectrum, host, thresholds) to FILE",
  }),
  quiet: toggle({ flag: "quiet", help: "no live line on stderr" }),
  leave: toggle({
    flag: "no-leave",
    inverted: true,
    help: "at the end, leave the clients registered (they stay until the relay's idle timeout); by default each sends /quit",
  }),
  relayPid: integer({
    flag: "relay-pid",
    arg: "PID",
    default: undefined,
    min: 1,
    max: 2 ** 22,
    help: "report that process's CPU time per delivery (implied by --spawn-server)",
  }),
  relayMetrics: custom<string | undefined>({
    flag: "relay-metrics",
    arg: "URL",
    default: undefined,
    parse: parseMetricsUrl,
    defaultText: "with --spawn-server: its own",
    help: "the relay's admin endpoint (--admin): its drops by reason, backlog, clients and lag next to the run's, and the loss attributed",
  }),
  relayMetricsToken: text({ flag: "relay-metrics-token", arg: "TOKEN", default: undefined, nonEmpty: "the relay's --admin-token", help: "bearer token for --relay-metrics" }),
  bus: text({
    section: "Several hosts (see docs/stress-testing.md)",
    flag: "bus",
    arg: "URL",
    default: undefined,
    nonEmpty: "a NATS URL such as nats://10.0.0.5:4222",
    help: "the NATS server the agents (bun run src/load.ts agent --bus URL) wait on",
  }),
  agents: integer({ flag: "agents", arg: "N", default: undefined, min: 1, max: 1000, help: "coordinate N agents instead of generating here: the run is split among them, results merged" }),
  agentsTimeoutS: decimal({ flag: "agents-timeout", arg: "SECONDS", default: 30, min: 0.1, max: 3600, help: "how long to wait for N free agents" }),
  maxLoss: decimal({ section: "Thresholds (breached → exit 1)", flag: "max-loss", arg: "FRACTION", default: undefined, min: 0, max: 1, help: "e.g. 0.001" }),
  maxP99Ms: decimal({ flag: "max-p99", arg: "MS", default: undefined, min: 0, max: 3_600_000, help: "p99 latency from scheduled send time, in milliseconds" }),
} as const satisfies FlagsFor<LoadFlagValues>;

export const defaults = Object.freeze(flagDefaults(loadFlags));

export const usage: Usage = usageText(
  {
    command: "bun run src/load.ts",
    about: `Many synthetic chat clients against a relay, each with its own UDP socket. Senders send open loop
(by the clock, not by replies); every client records every relayed line it receives.
${REPORT_USAGE_LINE}`,
    footer: `Exit: 0 ok, 1 threshold breached, relay unreachable, too few agents or an agent lost, 2 bad flags,
130 interrupted (summary printed).`,
  },
  loadFlags,
);

export type ParsedLoadOptions = { readonly help: true } | { readonly help: false; readonly options: LoadOptions; readonly given: ReadonlySet<string> };

/** Reads the command line. Throws ConfigError naming the flag, the value and what is allowed. */
export function parseLoadOptions(argv: readonly string[], cores = availableParallelism()): ParsedLoadOptions {
  const read = readFlags(loadFlags, argv);
  if (read.help) return { help: true };
  const { values, given } = read;
  const { clients, host } = values;
  const maxSenders = Math.min(clients, MAX_SENDERS - 1);
  const senders = parseInteger("--senders", values.senders, maxSenders, 0, maxSenders);
  const workers = values.workers ?? Math.max(1, Math.min(cores, clients));
  if (workers > clients) throw new ConfigError(`--workers: "${workers}" is more than --clients (${clients})`);
  const bind = values.bind ?? (isIP(host) === 6 ? "::" : "0.0.0.0");
  if (isIP(bind) !== isIP(host)) throw new ConfigError(`--bind: "${bind}" is not of the same address family as --host ${host}`);
  if (values.agents !== undefined && values.bus === undefined) throw new ConfigError("--agents needs --bus URL (the NATS server the agents wait on)");
  if (values.bus !== undefined && values.agents === undefined) throw new ConfigError("--bus needs --agents N (on a generator host, run `bun run src/load.ts agent --bus URL`)");
  if (values.bus !== undefined) parseBus(values.bus, "--bus");
  if (values.agents !== undefined && values.agents > clients) throw new ConfigError(`--agents: "${values.agents}" is more than --clients (${clients})`);
  if (values.agents !== undefined && given.has("bind")) throw new ConfigError("--bind is each agent's own: give it to `load agent`, not to the coordinator");
  if (values.relayMetricsToken !== undefined && values.relayMetrics === undefined && !values.spawnServer) {
    throw new ConfigError("--relay-metrics-token needs --relay-metrics URL");
  }
  if (values.relayMetrics !== undefined && values.agents !== undefined) throw new ConfigError("--relay-metrics is not supported with --agents yet");
  if (values.spawnServer && (given.has("host") || given.has("port"))) {
    throw new ConfigError("--spawn-server picks its own loopback port: leave out --host and --port");
  }
  return { help: false, options: Object.freeze({ ...values, senders, workers, bind }), given: given as ReadonlySet<string> };
}

/** The relay's address: an IP literal to send to (no name lookups), not an unspecified one. */
function parseTarget(value: string, flag: string): string {
  const host = value === "localhost" ? "127.0.0.1" : value;
  if (isIP(host) === 0) badValue(flag, value, "an IP address such as 127.0.0.1, ::1 or 192.0.2.7");
  if (host === "0.0.0.0" || host === "::") badValue(flag, value, "the relay's address (0.0.0.0 and :: are for binding, not sending)");
  return host;
}

/** A NATS URL: nats://HOST:PORT (or tls://), as the agents and the coordinator are given it. */
export function parseBus(value: string, flag: string): string {
  if (!/^(nats|tls|ws|wss):\/\/[^\s/]+$/.test(value)) badValue(flag, value, "a NATS URL such as nats://127.0.0.1:4222");
  return value;
}

/** The admin endpoint's base URL, http(s)://HOST:PORT[/PATH], with a trailing slash so /stats resolves under it. */
function parseMetricsUrl(value: string, flag: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {}
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:") || url.hostname === "") {
    badValue(flag, value, "the relay's admin URL, such as http://127.0.0.1:9100");
  }
  return url.href.endsWith("/") ? url.href : `${url.href}/`;
}

function parseBind(value: string, flag: string): string {
  const bind = value === "localhost" ? "127.0.0.1" : value;
  if (isIP(bind) === 0) badValue(flag, value, "a local IP address");
  return bind;
}

function badValue(flag: string, value: string, allowed: string): never {
  throw new ConfigError(`${flag}: "${value}" is not ${allowed}`);
}

/** What `load agent` is told. */
export interface AgentFlags {
  readonly bus: string;
  readonly name: string | undefined;
  readonly bind: string | undefined;
}

const agentFlags = {
  bus: custom<string | undefined>({ flag: "bus", arg: "URL", default: undefined, parse: parseBus, defaultText: "required", help: "the NATS server to wait on for work" }),
  name: custom<string | undefined>({
    flag: "name",
    arg: "NAME",
    default: undefined,
    parse: (v, flag) => (/^[A-Za-z0-9_-]{1,64}$/.test(v) ? v : badValue(flag, v, "a name of letters, digits, - and _ (up to 64)")),
    defaultText: "default: host name and process id",
    help: "how the coordinator and its report name this agent; unique on the bus",
  }),
  bind: custom<string | undefined>({ flag: "bind", arg: "ADDR", default: undefined, parse: parseBind, defaultText: "default: any", help: "local address for this host's clients' sockets" }),
} as const satisfies FlagsFor<{ readonly [K in keyof AgentFlags]: AgentFlags[K] | undefined }>;

export const AGENT_COMMAND = "bun run src/load.ts agent";

export const agentUsage: Usage = usageText(
  {
    command: AGENT_COMMAND,
    about: `A generator host of a fleet run: connects to the bus, announces itself, and runs the share of a run a
coordinator (bun run src/load.ts --bus URL --agents N …) gives it. Ctrl+C leaves.`,
    footer: "Exit: 0 left on Ctrl+C, 1 bus unreachable, 2 bad flags.",
  },
  agentFlags,
);

export type ParsedAgentFlags = { readonly help: true } | { readonly help: false; readonly options: AgentFlags };

/** Reads `load agent`'s command line. Throws ConfigError naming the flag. */
export function parseAgentFlags(argv: readonly string[]): ParsedAgentFlags {
  const read = readFlags(agentFlags, argv);
  if (read.help) return { help: true };
  const { bus, name, bind } = read.values;
  if (bus === undefined) throw new ConfigError("--bus: required (the NATS URL the coordinator uses, e.g. nats://10.0.0.5:4222)");
  return { help: false, options: Object.freeze({ bus, name, bind }) };
}

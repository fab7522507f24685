// Load generator options: a pure function of argv to a frozen object, built on util.parseArgs.

import { isIP } from "node:net";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { ConfigError, parseInteger } from "../config.ts";
import { MAX_UDP_PAYLOAD } from "../protocol/wire.ts";
import { HEADER_BYTES, MAX_SENDERS } from "./wire.ts";

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
  readonly maxLoss: number | undefined;
  readonly maxP99Ms: number | undefined;
  readonly spawnServer: boolean;
  /** A relay process to charge CPU time to, for CPU per delivery. */
  readonly relayPid: number | undefined;
  /** No live line once a second. */
  readonly quiet: boolean;
}

export const defaults = Object.freeze({
  host: "127.0.0.1",
  port: 65432,
  clients: 1000,
  rate: 100,
  durationS: 10,
  payloadBytes: 32,
  ramp: 0,
});

/** Clients one run can have; each is a socket, so the fd limit is the practical bound. */
export const MAX_CLIENTS = 100_000;

export const usage = `Usage: bun run src/load.ts [options]

Many synthetic chat clients against a relay, each with its own UDP socket. Senders send open loop
(by the clock, not by replies); every client records every relayed line it receives.

Target
  --host ADDR          relay address (default ${defaults.host})
  --port N             relay port (default ${defaults.port})
  --spawn-server       start this project's relay on a free loopback port, run against it, stop it
  --bind ADDR          local address for the clients' sockets, to pick a NIC (default: any)

Load
  --clients N          synthetic clients (default ${defaults.clients})
  --senders S          how many of them send (default: all)
  --rate R             messages per second over all senders (default ${defaults.rate}); deliveries = R × clients
  --duration SECONDS   how long to send (default ${defaults.durationS})
  --payload BYTES      text bytes per message, at least ${HEADER_BYTES} (default ${defaults.payloadBytes})
  --ramp N             joins per second (default: as fast as a window of 64 outstanding joins allows)
  --workers W          worker threads (default: cores available, here ${availableParallelism()})

Output
  --json               one JSON summary line on stdout (the table goes to stderr)
  --json-stream        one JSON line per second on stdout as well
  --out FILE           also write the JSON summary line to FILE
  --quiet              no live line on stderr
  --relay-pid PID      report that process's CPU time per delivery (implied by --spawn-server)

Thresholds (breached → exit 1)
  --max-loss FRACTION  e.g. 0.001
  --max-p99 MS         p99 latency from scheduled send time, in milliseconds

  -h, --help           this text

Exit: 0 ok, 1 threshold breached or relay unreachable, 2 bad flags, 130 interrupted (summary printed).
`;

const options = {
  host: { type: "string" },
  port: { type: "string" },
  clients: { type: "string" },
  senders: { type: "string" },
  rate: { type: "string" },
  duration: { type: "string" },
  payload: { type: "string" },
  ramp: { type: "string" },
  workers: { type: "string" },
  bind: { type: "string" },
  json: { type: "boolean" },
  "json-stream": { type: "boolean" },
  out: { type: "string" },
  "max-loss": { type: "string" },
  "max-p99": { type: "string" },
  "spawn-server": { type: "boolean" },
  "relay-pid": { type: "string" },
  quiet: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

export type ParsedLoadOptions = { readonly help: true } | { readonly help: false; readonly options: LoadOptions };

/** Reads the command line. Throws ConfigError naming the flag, the value and what is allowed. */
export function parseLoadOptions(argv: readonly string[], cores = availableParallelism()): ParsedLoadOptions {
  let values;
  try {
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch (err) {
    // parseArgs explains some errors over several lines; the user gets one.
    throw new ConfigError((err as Error).message.replace(/\s*\n\s*/g, " "));
  }
  if (values.help) return { help: true };
  const host = parseTarget(values.host ?? defaults.host);
  const clients = parseInteger("--clients", values.clients, defaults.clients, 1, MAX_CLIENTS);
  const senders = parseInteger("--senders", values.senders, Math.min(clients, MAX_SENDERS - 1), 0, Math.min(clients, MAX_SENDERS - 1));
  const workers = parseInteger("--workers", values.workers, Math.max(1, Math.min(cores, clients)), 1, 256);
  if (workers > clients) throw new ConfigError(`--workers: "${values.workers}" is more than --clients (${clients})`);
  const bind = values.bind === undefined ? (isIP(host) === 6 ? "::" : "0.0.0.0") : parseBind(values.bind);
  if (isIP(bind) !== isIP(host)) throw new ConfigError(`--bind: "${bind}" is not of the same address family as --host ${host}`);
  const result: LoadOptions = {
    host,
    port: parseInteger("--port", values.port, defaults.port, 1, 65535),
    clients,
    senders,
    rate: parseNumber("--rate", values.rate, defaults.rate, 0, 1e8),
    durationS: parseNumber("--duration", values.duration, defaults.durationS, 0.1, 86_400),
    payloadBytes: parseInteger("--payload", values.payload, defaults.payloadBytes, HEADER_BYTES, MAX_UDP_PAYLOAD - 64),
    ramp: parseNumber("--ramp", values.ramp, defaults.ramp, 0, 1e7),
    workers,
    bind,
    json: values.json ?? false,
    jsonStream: values["json-stream"] ?? false,
    out: values.out === "" ? badValue("--out", "", "a file name") : values.out,
    maxLoss: values["max-loss"] === undefined ? undefined : parseNumber("--max-loss", values["max-loss"], 0, 0, 1),
    maxP99Ms: values["max-p99"] === undefined ? undefined : parseNumber("--max-p99", values["max-p99"], 0, 0, 3_600_000),
    spawnServer: values["spawn-server"] ?? false,
    relayPid: values["relay-pid"] === undefined ? undefined : parseInteger("--relay-pid", values["relay-pid"], 0, 1, 2 ** 22),
    quiet: values.quiet ?? false,
  };
  if (result.spawnServer && (values.host !== undefined || values.port !== undefined)) {
    throw new ConfigError("--spawn-server picks its own loopback port: leave out --host and --port");
  }
  return { help: false, options: Object.freeze(result) };
}

/** The relay's address: an IP literal to send to (no name lookups), not an unspecified one. */
function parseTarget(value: string): string {
  const host = value === "localhost" ? "127.0.0.1" : value;
  if (isIP(host) === 0) badValue("--host", value, "an IP address such as 127.0.0.1, ::1 or 192.0.2.7");
  if (host === "0.0.0.0" || host === "::") badValue("--host", value, "the relay's address (0.0.0.0 and :: are for binding, not sending)");
  return host;
}

function parseBind(value: string): string {
  const bind = value === "localhost" ? "127.0.0.1" : value;
  if (isIP(bind) === 0) badValue("--bind", value, "a local IP address");
  return bind;
}

/** A decimal number in [min, max] from a flag; `fallback` when absent. */
export function parseNumber(flag: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = /^\s*(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isFinite(n) || n < min || n > max) badValue(flag, value, `a number from ${min} to ${max}`);
  return n;
}

function badValue(flag: string, value: string, allowed: string): never {
  throw new ConfigError(`${flag}: "${value}" is not ${allowed}`);
}

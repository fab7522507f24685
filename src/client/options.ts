// Terminal client options: a pure function of argv to a frozen object, on util.parseArgs, like the relay's config.

import { defaults as relayDefaults } from "../config.ts";
import { ConfigError, parseFlags, parseInteger, parseSeconds } from "../flags.ts";

export interface ClientOptions {
  /** Relay host: an IP literal or a name to look up. */
  readonly host: string;
  readonly port: number;
  /** Name to join as; asked for when absent. */
  readonly name: string | undefined;
  /** A /ping this often keeps the client registered (and NAT mappings open). */
  readonly keepaliveMs: number;
  /** No answer to the join within this long: give up and say so. */
  readonly joinTimeoutMs: number;
}

export const clientDefaults: ClientOptions = Object.freeze({
  host: "127.0.0.1",
  port: relayDefaults.port,
  name: undefined,
  // Far inside the relay's default idle timeout, and under the 30 s some NATs give an idle UDP mapping.
  keepaliveMs: 25_000,
  joinTimeoutMs: 3_000,
});

export const clientUsage = `Usage: bun run src/client.ts [options]

A terminal chat client for the UDP relay. Type a line to send it; commands start with /
(/help asks the relay for the list; /quit or Ctrl+C leaves). Works piped too: the first
input line is the name unless --name is given, and end of input leaves.

Options:
  --host HOST          relay host (default ${clientDefaults.host})
  --port N             relay port (default ${clientDefaults.port})
  --name NAME          name to join as (asked for when absent)
  --keepalive S        seconds between keepalive pings (default ${clientDefaults.keepaliveMs / 1000})
  --join-timeout S     seconds to wait for the relay to answer the join (default ${clientDefaults.joinTimeoutMs / 1000})
  -h, --help           this text

Colours on a terminal; NO_COLOR=1 turns them off.
`;

const options = {
  host: { type: "string" },
  port: { type: "string" },
  name: { type: "string" },
  keepalive: { type: "string" },
  "join-timeout": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export type ParsedClientOptions = { readonly help: true } | { readonly help: false; readonly options: ClientOptions };

/** Reads flags over defaults. Throws ConfigError for an unknown flag or a bad value. */
export function parseClientOptions(argv: readonly string[]): ParsedClientOptions {
  const values = parseFlags(argv, options);
  if (values.help) return { help: true };
  const host = (values.host ?? clientDefaults.host).trim();
  if (host === "") throw new ConfigError(`--host: "" is not a host`);
  const keepaliveMs = parseSeconds("--keepalive", values.keepalive, clientDefaults.keepaliveMs, 86_400);
  if (keepaliveMs === 0) throw new ConfigError(`--keepalive: "0" is not a number of seconds from 0.001 to 86400`);
  const joinTimeoutMs = parseSeconds("--join-timeout", values["join-timeout"], clientDefaults.joinTimeoutMs, 600);
  if (joinTimeoutMs === 0) throw new ConfigError(`--join-timeout: "0" is not a number of seconds from 0.001 to 600`);
  return {
    help: false,
    options: Object.freeze({
      host,
      port: parseInteger("--port", values.port, clientDefaults.port, 1, 65535),
      name: values.name,
      keepaliveMs,
      joinTimeoutMs,
    }),
  };
}

// Terminal client options: a pure function of argv to a frozen object, on util.parseArgs, like the relay's config.

import { defaults as relayDefaults } from "../config.ts";
import { flagDefaults, type FlagsFor, integer, readFlags, seconds, text } from "../flags.ts";
import { type Usage, usageText } from "../usage.ts";

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

/** Every client flag, keyed by the ClientOptions field it sets; --help lists them in this order. */
const clientFlags = {
  host: text({ section: "Options:", flag: "host", arg: "HOST", default: "127.0.0.1", trim: true, nonEmpty: "a host", help: "relay host" }),
  port: integer({ flag: "port", default: relayDefaults.port, min: 1, max: 65535, help: "relay port" }),
  name: text({ flag: "name", arg: "NAME", default: undefined, help: "name to join as (asked for when absent)" }),
  // Far inside the relay's default idle timeout, and under the 30 s some NATs give an idle UDP mapping.
  keepaliveMs: seconds({ flag: "keepalive", defaultMs: 25_000, max: 86_400, never: false, help: "seconds between keepalive pings" }),
  joinTimeoutMs: seconds({ flag: "join-timeout", defaultMs: 3_000, max: 600, never: false, help: "seconds to wait for the relay to answer the join" }),
} as const satisfies FlagsFor<ClientOptions>;

export const clientDefaults: ClientOptions = Object.freeze(flagDefaults(clientFlags));

export const clientUsage: Usage = usageText(
  {
    command: "bun run src/client.ts",
    about: `A terminal chat client for the UDP relay. Type a line to send it; commands start with /
(/help asks the relay for the list; /quit or Ctrl+C leaves). Works piped too: the first
input line is the name unless --name is given, and end of input leaves.`,
    footer: "Colours on a terminal; NO_COLOR=1 turns them off.",
  },
  clientFlags,
);

export type ParsedClientOptions = { readonly help: true } | { readonly help: false; readonly options: ClientOptions };

/** Reads flags over defaults. Throws ConfigError for an unknown flag or a bad value. */
export function parseClientOptions(argv: readonly string[]): ParsedClientOptions {
  const read = readFlags(clientFlags, argv);
  return read.help ? { help: true } : { help: false, options: Object.freeze(read.values) };
}

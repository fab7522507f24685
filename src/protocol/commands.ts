// Command parsing: the text of a datagram that starts with "/" to a Command. Pure; the relay executes them.

/** Every kind of command, `as const` so a switch over `Command` is checked for exhaustiveness. */
export const CommandKind = {
  quit: "quit",
  nick: "nick",
  who: "who",
  msg: "msg",
  me: "me",
  ping: "ping",
  help: "help",
  /** `//text`: the literal line `/text`, relayed as chat. */
  literal: "literal",
  /** A known command without the argument it needs. */
  usage: "usage",
  unknown: "unknown",
} as const;
export type CommandKind = (typeof CommandKind)[keyof typeof CommandKind];

/** Commands that take an argument; `usage` names which one was missing it. */
export type CommandWithArgument = "nick" | "msg" | "me";

export type Command =
  | { readonly kind: "quit" }
  | { readonly kind: "nick"; readonly name: string }
  | { readonly kind: "who" }
  | { readonly kind: "msg"; readonly args: string }
  | { readonly kind: "me"; readonly action: string }
  | { readonly kind: "ping" }
  | { readonly kind: "help" }
  | { readonly kind: "literal"; readonly text: string }
  | { readonly kind: "usage"; readonly command: CommandWithArgument }
  | { readonly kind: "unknown"; readonly word: string };

const QUIT: Command = Object.freeze({ kind: CommandKind.quit });
const WHO: Command = Object.freeze({ kind: CommandKind.who });
const PING: Command = Object.freeze({ kind: CommandKind.ping });
const HELP: Command = Object.freeze({ kind: CommandKind.help });

/**
 * Parses `text` (a decoded line starting with "/", line end already dropped). The command word is matched
 * ignoring case; arguments are trimmed. Anything after a command that takes none is ignored.
 */
export function parseCommand(text: string): Command {
  if (text.startsWith("//")) return { kind: CommandKind.literal, text: text.slice(1) };
  const space = text.search(/[ \t]/);
  const word = space < 0 ? text : text.slice(0, space);
  const args = space < 0 ? "" : text.slice(space + 1).trim();
  switch (word.toLowerCase()) {
    case "/quit":
      return QUIT;
    case "/who":
      return WHO;
    case "/ping":
      return PING;
    case "/help":
      return HELP;
    case "/nick":
      return args === "" ? { kind: CommandKind.usage, command: "nick" } : { kind: CommandKind.nick, name: args };
    case "/msg":
      return args === "" ? { kind: CommandKind.usage, command: "msg" } : { kind: CommandKind.msg, args };
    case "/me":
      return args === "" ? { kind: CommandKind.usage, command: "me" } : { kind: CommandKind.me, action: args };
    default:
      return { kind: CommandKind.unknown, word };
  }
}

/** The outcome of finding who a `/msg` is for. */
export type Recipient =
  | { readonly found: true; readonly name: string; readonly text: string }
  | { readonly found: false; readonly name: string };

/**
 * Splits `/msg` arguments into recipient and text. Names may contain spaces, so every prefix that ends at a
 * space is tried against `isName` and the longest match wins ("/msg Ann Lee hi" reaches "Ann Lee" if she is
 * here, else "Ann"). Without a match, the first word is reported as the unknown name.
 *
 * Only prefixes of at most `maxNameChars` characters are tried, since no name is longer. Trying every prefix
 * of a 2 KB line cost ~12 ms, since `isName` normalises each one: the work must grow with the name limit, not
 * with the line.
 */
export function splitRecipient(args: string, isName: (name: string) => boolean, maxNameChars: number): Recipient {
  // UTF-16 length of the first `maxNameChars` characters (code points).
  let longest = 0;
  for (let n = 0; n < maxNameChars && longest < args.length; n++) longest += args.codePointAt(longest)! > 0xffff ? 2 : 1;
  let best = -1;
  for (let i = args.indexOf(" "); i >= 0 && i <= longest; i = args.indexOf(" ", i + 1)) {
    if (isName(args.slice(0, i))) best = i;
  }
  if (args.length <= longest && isName(args)) return { found: true, name: args, text: "" };
  if (best >= 0) return { found: true, name: args.slice(0, best), text: args.slice(best + 1).trim() };
  const firstSpace = args.search(/[ \t]/);
  return { found: false, name: firstSpace < 0 ? args : args.slice(0, firstSpace) };
}

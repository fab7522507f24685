// The wire protocol: every string a client can see, as bytes, and the spec limits. Pure: no sockets here.

const utf8 = new TextEncoder();

/** Separator between a sender's name and its text in a relayed line: `<name> ~ <text>`. */
export const SEPARATOR = " ~ ";

/** Prefix of every line the server itself speaks. Clients tell notices from chat by it. */
export const SERVER_TAG = "[SERVER]";

/** Largest UDP payload over IPv4 (65535 − 8 UDP − 20 IP); no datagram can be larger. */
export const MAX_UDP_PAYLOAD = 65_507;

/** First byte of a command datagram (`/`). The relay looks at this byte before anything else. */
export const COMMAND_BYTE = 0x2f;

/** Each command as `/help` lists it, in that order. */
export const commandSyntax = {
  nick: "/nick NEW",
  who: "/who",
  msg: "/msg NAME TEXT",
  me: "/me ACTION",
  ping: "/ping",
  quit: "/quit",
  help: "/help",
} as const;

/** Notice texts, exactly as existing clients parse them. */
export const notice = {
  running: (where: string) => `${SERVER_TAG} Running on ${where}`,
  /** The console line after `running` when --workers is in force. */
  workers: (threads: number) => `${SERVER_TAG} Workers: ${threads} thread${threads === 1 ? "" : "s"} sharing the port (SO_REUSEPORT)`,
  /** The console line after `running` when --bus is in force. */
  bus: (url: string, nodeId: string) => `${SERVER_TAG} Bus: ${url} as node ${nodeId}`,
  joined: (name: string) => `${SERVER_TAG} ${name} has joined the chat.`,
  left: (name: string) => `${SERVER_TAG} ${name} has left the chat.`,
  renamed: (oldName: string, newName: string) => `${SERVER_TAG} ${oldName} is now known as ${newName}.`,
  timedOut: (name: string) => `${SERVER_TAG} ${name} timed out.`,
  timedOutYou: (name: string, seconds: number) =>
    `${SERVER_TAG} You timed out after ${seconds} s without a datagram. Send any line to rejoin as ${name}.`,
  nameTakenWhileAway: (name: string) => `${SERVER_TAG} ${name} was taken while you were away. Send a new name.`,
  shuttingDown: `${SERVER_TAG} Server is shutting down.`,
  full: `${SERVER_TAG} Server is full.`,
  pong: `${SERVER_TAG} pong`,
  privateLine: (sender: string, text: string) => `${sender} (private)${SEPARATOR}${text}`,
  action: (name: string, action: string) => `* ${name} ${action}`,
  who: (count: number, names: string) => `${SERVER_TAG} Online (${count}): ${names}`,
  whoContinued: (count: number, names: string) => `${SERVER_TAG} Online (${count}, continued): ${names}`,
  noSuchName: (name: string) => `${SERVER_TAG} No one called ${name} is here. /who lists who is.`,
  unknownCommand: (word: string) => `${SERVER_TAG} Unknown command ${word}. Type /help for the list.`,
  usage: (syntax: string) => `${SERVER_TAG} Usage: ${syntax}`,
  alreadyNamed: (name: string) => `${SERVER_TAG} You are already called ${name}.`,
  help: [
    `${SERVER_TAG} Commands:`,
    `${SERVER_TAG} ${commandSyntax.nick} - change your name`,
    `${SERVER_TAG} ${commandSyntax.who} - who is online`,
    `${SERVER_TAG} ${commandSyntax.msg} - a private message`,
    `${SERVER_TAG} ${commandSyntax.me} - an action: * you ACTION`,
    `${SERVER_TAG} ${commandSyntax.ping} - the server answers pong (keeps you online)`,
    `${SERVER_TAG} ${commandSyntax.quit} - leave the chat`,
    `${SERVER_TAG} ${commandSyntax.help} - this list; //text sends /text`,
  ],
  tooLong: (maxTextBytes: number) => `${SERVER_TAG} Message too long (max ${maxTextBytes} bytes).`,
  invalidUtf8: `${SERVER_TAG} Message refused: not valid UTF-8.`,
  controlChars: `${SERVER_TAG} Message refused: control characters are not allowed (tab is).`,
  serverLookalike: `${SERVER_TAG} Message refused: it could pass for a server notice.`,
  nameRefused: (why: string) => `${SERVER_TAG} Name refused: ${why}. Send another name.`,
  nickRefused: (why: string) => `${SERVER_TAG} Name refused: ${why}.`,
  moreTimedOut: (count: number) => `${SERVER_TAG} ${count} more clients timed out.`,
  /** The end of a /who list cut at WHO_MAX_NAMES: how many more are online. */
  whoMore: (more: number) => `${SERVER_TAG} ...and ${more} more.`,
  /** A new address beyond --max-clients-per-ip or --max-clients-per-net. */
  sourceFull: `${SERVER_TAG} Too many clients from your address or network.`,
  /** Address validation: `reply` is the exact text to send back (`CODE NAME`, see answer.ts). */
  challenge: (reply: string) => `${SERVER_TAG} Reply with ${reply} to join.`,
  slowDown: `${SERVER_TAG} Slow down.`,
} as const;

/** Why a name was refused, as the `nameRefused` notice words it. */
export const nameRefusal = {
  tooLong: (maxNameChars: number) => `longer than ${maxNameChars} characters`,
  control: "no control or invisible formatting characters",
  separator: `it may not contain "${SEPARATOR}"`,
  slash: "it may not start with /",
  server: "it could pass for the server",
  private: 'it may not end with "(private)"',
  taken: (name: string) => `${name} is taken`,
  invalidUtf8: "not valid UTF-8",
  tooOften: (seconds: number) => `you renamed too often; try again in ${seconds} s`,
} as const;

/** Membership events of one busy window, counted (src/announcer.ts). */
export interface EventCounts {
  joined: number;
  left: number;
  renamed: number;
  timedOut: number;
}

/** The names behind `EventCounts` (a rename as `old → new`), or undefined when they are not to be listed. */
export type EventNames = { readonly [K in keyof EventCounts]: readonly string[] };

const summaryWords: { readonly [K in keyof EventCounts]: { readonly alone: string; readonly mixed: string } } = {
  joined: { alone: "more have joined the chat", mixed: "joined" },
  left: { alone: "more have left the chat", mixed: "left" },
  renamed: { alone: "more have changed their names", mixed: "renamed" },
  timedOut: { alone: "more clients timed out", mixed: "timed out" },
};

/**
 * One notice for many membership events: `[SERVER] 12 more have left the chat.` for one kind,
 * `[SERVER] 37 joined, 12 left.` for several; with `names`, each count is followed by its names
 * (`[SERVER] 2 more have left the chat: ann, bob.`, `[SERVER] 2 joined (ann, bob), 1 left (cy).`).
 */
export function eventSummary(counts: EventCounts, names?: EventNames): string {
  const kinds = (Object.keys(summaryWords) as (keyof EventCounts)[]).filter((k) => counts[k] > 0);
  if (kinds.length === 1) {
    const k = kinds[0]!;
    return `${SERVER_TAG} ${counts[k]} ${summaryWords[k].alone}${names === undefined ? "" : `: ${names[k].join(", ")}`}.`;
  }
  const parts = kinds.map((k) => `${counts[k]} ${summaryWords[k].mixed}${names === undefined ? "" : ` (${names[k].join(", ")})`}`);
  return `${SERVER_TAG} ${parts.join(", ")}.`;
}

/**
 * The longest notice that carries names, in bytes, for names of up to `maxNameChars` characters.
 * Config refuses a `--max-datagram` smaller than this, so every notice fits in one datagram.
 */
export function longestNameNoticeBytes(maxNameChars: number): number {
  const name = "\u{10000}".repeat(maxNameChars); // 4 bytes a character: the worst case
  const longest = [notice.renamed(name, name), notice.timedOutYou(name, 604_800), notice.nameTakenWhileAway(name), notice.nameRefused(nameRefusal.taken(name)), notice.challenge(`XXXX-XXXX ${name}`)];
  let bytes = 0;
  for (const text of longest) bytes = Math.max(bytes, utf8.encode(text).length);
  for (const text of notice.help) bytes = Math.max(bytes, utf8.encode(text).length);
  return bytes;
}

/** Encodes text as a UTF-8 datagram. Cold path only (notices, joins): chat lines never pass through here. */
export function encode(text: string): Uint8Array {
  return utf8.encode(text);
}

/**
 * The bytes every chat line from this client starts with: `<name> ~ `.
 * Encoded once at join (and rename) time so relaying a line is two memcpy's, not string building.
 */
export function encodePrefix(name: string): Uint8Array {
  return utf8.encode(name + SEPARATOR);
}

/** The join notice for `name`, as sent to everyone. */
export function encodeJoin(name: string): Uint8Array {
  return utf8.encode(notice.joined(name));
}


// What the terminal client makes of a line from the relay: its kind, a safe form to print, its colour, join replies.

import { challengeReply } from "../protocol/answer.ts";
import { notice, SEPARATOR, SERVER_TAG } from "../protocol/wire.ts";

/** Kinds of line, each with its own colour on a terminal. */
export const LineKind = {
  server: "server",
  own: "own",
  other: "other",
  private: "private",
  action: "action",
  /** The client's own remarks (lost contact, ...), not from the relay. */
  local: "local",
} as const;
export type LineKind = (typeof LineKind)[keyof typeof LineKind];

const PRIVATE_MARK = " (private)";

/** Which kind `line` is, for a client called `me`. */
export function classify(line: string, me: string): LineKind {
  if (line.startsWith(SERVER_TAG)) return LineKind.server;
  if (line.startsWith("* ")) return LineKind.action;
  const sep = line.indexOf(SEPARATOR);
  if (sep < 0) return LineKind.other;
  // Names may not end with "(private)" (the relay refuses them), so this mark is the relay's own.
  if (line.slice(0, sep).endsWith(PRIVATE_MARK)) return LineKind.private;
  return line.slice(0, sep) === me ? LineKind.own : LineKind.other;
}

// The relay never sends these, but a client prints what arrives on its socket: defence in depth.
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;

/** `line` with every control character but tab replaced by U+FFFD, so nothing can drive the terminal. */
export function sanitize(line: string): string {
  return line.replace(CONTROL, "\ufffd");
}

const colours: Record<LineKind, string> = {
  server: "\x1b[33m", // yellow
  own: "\x1b[32m", // green
  other: "",
  private: "\x1b[35m", // magenta
  action: "\x1b[36m", // cyan
  local: "\x1b[2m", // dim
};
const RESET = "\x1b[0m";

/** `text` in the colour of `kind`, or as is when colour is off. */
export function paint(kind: LineKind, text: string, colour: boolean): string {
  const start = colours[kind];
  return colour && start !== "" ? start + text + RESET : text;
}

/**
 * Whether to colour: only on a terminal, and never when NO_COLOR is set to anything but "" (no-color.org).
 */
export function useColour(isTty: boolean, env: Readonly<Record<string, string | undefined>>): boolean {
  return isTty && (env.NO_COLOR === undefined || env.NO_COLOR === "");
}

/** What a line means while joining as `name`. */
export type JoinStep =
  | { readonly kind: "joined" }
  /** The name was refused; another may do. */
  | { readonly kind: "refused"; readonly notice: string }
  /** The relay will not take anyone now (full, shutting down). */
  | { readonly kind: "fatal"; readonly notice: string }
  /** Address validation: the relay wants `text` (a code and the name) sent back before it lets us in. */
  | { readonly kind: "reply"; readonly text: string }
  /** Not about this join. */
  | { readonly kind: "wait" };

const WAIT: JoinStep = Object.freeze({ kind: "wait" });
const JOINED: JoinStep = Object.freeze({ kind: "joined" });

export function joinStep(line: string, name: string): JoinStep {
  if (line === notice.joined(name)) return JOINED;
  if (line.startsWith(`${SERVER_TAG} Name refused:`)) return { kind: "refused", notice: line };
  if (line === notice.full || line === notice.shuttingDown) return { kind: "fatal", notice: line };
  const reply = challengeReply(line);
  if (reply !== undefined) return { kind: "reply", text: reply };
  return WAIT;
}

/** The new name if `line` announces that `me` was renamed, else undefined. */
export function renamedTo(line: string, me: string): string | undefined {
  const head = notice.renamed(me, "");
  const start = head.slice(0, -1); // "[SERVER] <me> is now known as "
  if (!line.startsWith(start) || !line.endsWith(".") || line.length <= head.length) return undefined;
  return line.slice(start.length, -1);
}

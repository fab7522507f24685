// Name rules: what a chat name may be, and the key under which names are unique ignoring case.

import { nameRefusal, SEPARATOR } from "./wire.ts";

/** Why a name is refused. Codes; wire.ts words them for the client. */
export const NameProblem = {
  empty: "empty",
  tooLong: "too_long",
  control: "control",
  separator: "separator",
  slash: "slash",
  server: "server",
  private: "private",
} as const;
export type NameProblem = (typeof NameProblem)[keyof typeof NameProblem];

// Control characters, plus the invisible ones that let a name impersonate another on screen:
// bidirectional overrides and isolates, zero-width space, byte-order mark, line and paragraph separators.
const FORBIDDEN = /[\p{Cc}\u200B\u200E\u200F\u202A-\u202E\u2066-\u2069\uFEFF\u2028\u2029]/u;

/** A name as the client meant it: surrounding white space (the newline `nc` adds) trimmed. */
export function cleanName(raw: string): string {
  return raw.trim();
}

/** Length in characters (Unicode code points), which is what a person counts, not UTF-16 units. */
export function nameLength(name: string): number {
  let n = 0;
  for (const _ of name) n++;
  return n;
}

/**
 * The key names are unique under: compatibility-normalised (fullwidth "ＢＯＢ" is "BOB"), then case-folded
 * (upper then lower, so "ß" and "SS" meet). Names are shown as typed; only the key is folded.
 */
export function nameKey(name: string): string {
  return name.normalize("NFKC").toUpperCase().toLowerCase();
}

/**
 * The first rule `name` (already cleaned) breaks, or undefined if it is acceptable.
 * Uniqueness is the registry's business, not checked here.
 */
export function nameProblem(name: string, maxNameChars: number): NameProblem | undefined {
  if (name === "") return NameProblem.empty;
  if (nameLength(name) > maxNameChars) return NameProblem.tooLong;
  if (FORBIDDEN.test(name)) return NameProblem.control;
  // "alice ~" would make "alice ~ ~ text", which reads as alice saying "~ text": check with the space after.
  if ((name + " ").includes(SEPARATOR)) return NameProblem.separator;
  if (name.startsWith("/")) return NameProblem.slash;
  const key = nameKey(name);
  if (key === "server" || key.startsWith("[server")) return NameProblem.server;
  // "<name> (private) ~ text" is how a private message looks; a name ending so would forge one.
  if (key.endsWith("(private)")) return NameProblem.private;
  return undefined;
}

/** How the refusal notice words `problem`. */
export function refusalText(problem: NameProblem, maxNameChars: number): string {
  switch (problem) {
    case NameProblem.empty:
    case NameProblem.tooLong:
      return nameRefusal.tooLong(maxNameChars);
    case NameProblem.control:
      return nameRefusal.control;
    case NameProblem.separator:
      return nameRefusal.separator;
    case NameProblem.slash:
      return nameRefusal.slash;
    case NameProblem.server:
      return nameRefusal.server;
    case NameProblem.private:
      return nameRefusal.private;
  }
}

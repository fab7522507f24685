// A tool's --help rendered from its flag table, and every entry point's one answer to --help and to a bad flag.

import { ConfigError, type FlagTable } from "./flags.ts";

/** Columns --help is wrapped to. */
const WIDTH = 100;
/** Flag labels are padded to this width so that descriptions line up. */
const LABEL = 19;

/** What a tool says about itself around its flags. */
export interface Tool {
  /** How it is run, e.g. "bun run src/server.ts". */
  readonly command: string;
  /** What it does, already wrapped; printed under the Usage line. */
  readonly about: string;
  /** Printed after the flags, already wrapped. */
  readonly footer?: string;
}

/** A tool's --help text, and the command that the pointer to it after a bad flag names. */
export interface Usage {
  readonly command: string;
  readonly text: string;
}

/** --help from the table: rows in order, a heading where a row starts a section, each flag's environment variable and default. */
export function usageText(tool: Tool, table: FlagTable): Usage {
  const lines = [`Usage: ${tool.command} [options]`, "", tool.about];
  for (const f of Object.values(table)) {
    if (f.section !== undefined) lines.push("", f.section);
    const env = f.env === undefined ? "" : f.kind === "switch" ? `${f.env}=1` : f.env;
    const notes = [env, f.defaultText].filter((n) => n !== "");
    lines.push(...describe(`--${f.name}${f.arg === "" ? "" : ` ${f.arg}`}`, f.help, notes.length === 0 ? "" : `(${notes.join("; ")})`));
  }
  lines.push("", ...describe("-h, --help", "this text", ""));
  if (tool.footer !== undefined) lines.push("", tool.footer);
  return { command: tool.command, text: `${lines.join("\n")}\n` };
}

/** One flag's lines: the label, then the description word-wrapped under its own column, the note kept whole. */
function describe(label: string, description: string, note: string): string[] {
  const lines: string[] = [];
  let line = `  ${label.padEnd(LABEL)} `;
  let words = 0;
  for (const word of note === "" ? description.split(" ") : [...description.split(" "), note]) {
    if (words > 0 && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = " ".repeat(LABEL + 3);
      words = 0;
    }
    line += ` ${word}`;
    words++;
  }
  lines.push(line);
  return lines;
}

/**
 * For an entry point: `parse`'s result to run with. `--help` prints the usage to stdout and exits 0; a bad flag prints
 * one line naming it and the problem, then a pointer to --help, to stderr and exits 2 (the command-line convention).
 */
export function parseOrExit<P extends { readonly help: boolean }>(usage: Usage, parse: () => P): Exclude<P, { readonly help: true }> {
  let parsed: P;
  try {
    parsed = parse();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`error: ${err.message.replace(/\s*\n\s*/g, " ")}\nTry '${usage.command} --help'.\n`);
    process.exit(2);
  }
  if (parsed.help) {
    process.stdout.write(usage.text);
    process.exit(0);
  }
  return parsed as Exclude<P, { readonly help: true }>;
}

// Command-line and environment values for every entry point: one typed table row per flag, read with util.parseArgs.

import { isIP } from "node:net";
import { parseArgs, type ParseArgsConfig } from "node:util";

/** A bad flag or value. The message names the flag, the value and what is allowed. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** What a flag takes; decides its parseArgs type, how a value is checked, and how --help shows it. */
export type FlagKind = "integer" | "decimal" | "seconds" | "switch" | "text" | "host" | "choice" | "custom";

/**
 * One row of a tool's flag table: everything about one flag. Parsing, the environment fallback, checks,
 * defaults and the --help line are all derived from it; the row's key in the table is the parsed field.
 */
export interface Flag<T> {
  readonly kind: FlagKind;
  /** Long name without dashes, e.g. "max-datagram". */
  readonly name: string;
  /** Environment variable read when the flag is absent (flag > environment > default). */
  readonly env: string | undefined;
  /** The value's placeholder in --help ("N", "ADDR"); "" for a switch. */
  readonly arg: string;
  readonly help: string;
  /** Starts a new group in --help under this heading. */
  readonly section: string | undefined;
  readonly default: T;
  /** How --help states the default, e.g. "default 65432"; "" for nothing. */
  readonly defaultText: string;
  /** May be repeated; the values are joined with commas. */
  readonly multiple: boolean;
  /** Text (from argv or env; a switch on the command line reads as "1") to value, or ConfigError. */
  readonly parse: (text: string) => T;
}

/** What every row states. */
export interface Row {
  /** Long name without dashes. */
  readonly flag: string;
  readonly env?: string;
  readonly arg?: string;
  readonly help: string;
  readonly section?: string;
  /** Replaces the derived "default X" in --help, e.g. "default: all"; "" says nothing. */
  readonly defaultText?: string;
}

/** A tool's flags, keyed by the field each one sets. */
export type FlagTable = Readonly<Record<string, Flag<unknown>>>;

/** What a table for `C` may hold: rows only for C's fields, each giving that field's type. */
export type FlagsFor<C> = { readonly [K in keyof C]?: Flag<C[K]> };

/** The parsed values of a table: one field per row. */
export type FlagValues<T extends FlagTable> = { readonly [K in keyof T]: T[K] extends Flag<infer V> ? V : never };

/** The outcome of reading a command line: a request for help, or values and which fields were given. */
export type ReadFlags<T extends FlagTable> =
  | { readonly help: true }
  | { readonly help: false; readonly values: FlagValues<T>; readonly given: ReadonlySet<keyof T> };

function row<T>(kind: FlagKind, r: Row, value: T, shown: string, parse: (text: string) => T, multiple = false): Flag<T> {
  const defaultText = r.defaultText ?? (value === undefined || shown === "" ? "" : `default ${shown}`);
  return { kind, name: r.flag, env: r.env, arg: r.arg ?? "", help: r.help, section: r.section, default: value, defaultText, multiple, parse };
}

/** A whole number in [min, max]. */
export function integer<D extends number | undefined>(r: Row & { readonly default: D; readonly min: number; readonly max: number }): Flag<number | D> {
  const flag = `--${r.flag}`;
  return row<number | D>("integer", { arg: "N", ...r }, r.default, String(r.default), (text) => parseInteger(flag, text, 0, r.min, r.max));
}

/** A decimal number in [min, max] (fractions and exponents allowed). */
export function decimal<D extends number | undefined>(r: Row & { readonly default: D; readonly min: number; readonly max: number }): Flag<number | D> {
  const flag = `--${r.flag}`;
  return row<number | D>("decimal", { arg: "N", ...r }, r.default, String(r.default), (text) => parseDecimal(flag, text, r.min, r.max));
}

/** Seconds (fractions allowed) read into whole milliseconds; 0 means "never" only when `never` is set. */
export function seconds(r: Row & { readonly defaultMs: number; readonly max: number; readonly never: boolean }): Flag<number> {
  const flag = `--${r.flag}`;
  return row("seconds", { arg: "S", ...r }, r.defaultMs, String(r.defaultMs / 1000), (text) => parseSeconds(flag, text, 0, r.max, r.never));
}

/** An on/off flag, false by default; from the environment as 1/0, true/false, yes/no, on/off. `inverted` stores its opposite. */
export function toggle(r: Row & { readonly inverted?: boolean }): Flag<boolean> {
  const source = r.env ?? `--${r.flag}`;
  const inverted = r.inverted ?? false;
  return row("switch", r, inverted, "", (text) => parseSwitch(source, text) !== inverted);
}

/** Free text; `trim` strips white space, `nonEmpty` (what is allowed) refuses an empty value. */
export function text<D extends string | undefined>(r: Row & { readonly default: D; readonly trim?: boolean; readonly nonEmpty?: string }): Flag<string | D> {
  const flag = `--${r.flag}`;
  return row<string | D>("text", r, r.default, r.default ?? "", (value) => {
    const v = r.trim === true ? value.trim() : value;
    if (r.nonEmpty !== undefined && v === "") throw new ConfigError(`${flag}: "${v}" is not ${r.nonEmpty}`);
    return v;
  });
}

/** An IP literal to bind (`localhost` = 127.0.0.1). */
export function host(r: Row & { readonly default: string }): Flag<string> {
  const flag = `--${r.flag}`;
  return row("host", { arg: "ADDR", ...r }, r.default, r.default, (value) => parseHost(value, flag));
}

/** One of a few words, case-insensitive. */
export function choice<const C extends string>(r: Row & { readonly choices: readonly C[]; readonly default: C }): Flag<C> {
  const flag = `--${r.flag}`;
  return row("choice", r, r.default, r.default, (value) => {
    const v = value.trim().toLowerCase();
    const found = r.choices.find((c) => c === v);
    if (found === undefined) throw new ConfigError(`${flag}: "${value}" is not one of ${r.choices.join(", ")}`);
    return found;
  });
}

/** Anything else: `parse` gets the text and the flag's name and throws ConfigError naming both. */
export function custom<T>(
  r: Row & { readonly default: T; readonly parse: (text: string, flag: string) => T; readonly multiple?: boolean },
): Flag<T> {
  const flag = `--${r.flag}`;
  return row("custom", r, r.default, String(r.default), (value) => r.parse(value, flag), r.multiple);
}

/**
 * Reads `argv` (strict: unknown flags and stray arguments refused), then `env` for rows that name a variable, then
 * defaults. `-h`/`--help` wins before any value is checked. Throws ConfigError naming the flag, value and what is allowed.
 */
export function readFlags<T extends FlagTable>(table: T, argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): ReadFlags<T> {
  const options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = { help: { type: "boolean", short: "h" } };
  for (const f of Object.values(table)) options[f.name] = { type: f.kind === "switch" ? "boolean" : "string", multiple: f.multiple };
  const parsed: Record<string, string | boolean | (string | boolean)[] | undefined> = parseFlags(argv, options);
  if (parsed.help === true) return { help: true };
  const values: Record<string, unknown> = {};
  const given = new Set<keyof T>();
  for (const [field, f] of Object.entries(table)) {
    const raw = parsed[f.name];
    const value = raw === undefined ? (f.env === undefined ? undefined : env[f.env]) : Array.isArray(raw) ? raw.join(",") : raw === true ? "1" : String(raw);
    if (value !== undefined) given.add(field);
    values[field] = value === undefined ? f.default : f.parse(value);
  }
  return { help: false, values: values as FlagValues<T>, given };
}

/** The default of every row: what `readFlags` gives for an empty command line and environment. */
export function flagDefaults<T extends FlagTable>(table: T): FlagValues<T> {
  return Object.fromEntries(Object.entries(table).map(([field, f]) => [field, f.default])) as FlagValues<T>;
}

/** `util.parseArgs` in strict mode, with no positionals; its complaints become a one-line ConfigError. */
export function parseFlags<const O extends NonNullable<ParseArgsConfig["options"]>>(argv: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    // parseArgs explains some errors over several lines; the user gets one.
    throw new ConfigError((err as Error).message.replace(/\s*\n\s*/g, " "));
  }
}

/** An IP literal to bind; `localhost` is taken as 127.0.0.1 (binding does no name lookups). */
export function parseHost(value: string, flag = "--host"): string {
  if (value === "localhost") return "127.0.0.1";
  if (isIP(value) === 0) throw new ConfigError(`${flag}: "${value}" is not an IP address (e.g. 127.0.0.1, ::1, 0.0.0.0, ::)`);
  return value;
}

/** A whole number in [min, max] from a flag or environment value; `fallback` when absent. */
export function parseInteger(flag: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw notInteger(flag, value, min, max);
  return n;
}

/** The error for a whole number outside [min, max], also for limits that depend on another flag. */
export function notInteger(flag: string, value: string, min: number, max: number): ConfigError {
  return new ConfigError(`${flag}: "${value}" is not a whole number from ${min} to ${max}`);
}

/** A decimal number in [min, max] (e.g. 2.5, .5, 1e3). */
export function parseDecimal(flag: string, value: string, min: number, max: number): number {
  const n = /^\s*(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isFinite(n) || n < min || n > max) throw new ConfigError(`${flag}: "${value}" is not a number from ${min} to ${max}`);
  return n;
}

/**
 * A duration in seconds (fractions allowed, e.g. 0.25) from a flag or environment value, returned in whole
 * milliseconds; `fallbackMs` when absent. 0 is allowed and means "never" unless `never` is false.
 */
export function parseSeconds(flag: string, value: string | undefined, fallbackMs: number, maxSeconds: number, never = true): number {
  if (value === undefined) return fallbackMs;
  const s = /^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(value) ? Number(value) : Number.NaN;
  const ms = Math.round(s * 1000);
  if (!Number.isFinite(s) || s > maxSeconds || (ms === 0 && (s > 0 || !never))) {
    throw new ConfigError(`${flag}: "${value}" is not a number of seconds from 0.001 to ${maxSeconds}${never ? " (or 0 for never)" : ""}`);
  }
  return ms;
}

/** An on/off environment variable: 1/true/yes/on or 0/false/no/off (empty = off). */
export function parseSwitch(name: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  const v = value.trim().toLowerCase();
  if (v === "" || v === "0" || v === "false" || v === "no" || v === "off") return false;
  if (v === "1" || v === "true" || v === "yes" || v === "on") return true;
  throw new ConfigError(`${name}: "${value}" is not one of 1, 0, true, false, yes, no, on, off`);
}

// Command-line and environment values for every entry point: util.parseArgs, and checked numbers, hosts and switches.

import { isIP } from "node:net";
import { parseArgs, type ParseArgsConfig } from "node:util";

/** A bad flag or value. The message names the flag, the value and what is allowed. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** `util.parseArgs` in strict mode, with no positionals; its complaints become ConfigError. */
export function parseFlags<const O extends NonNullable<ParseArgsConfig["options"]>>(argv: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}

/** An IP literal to bind; `localhost` is taken as 127.0.0.1 (binding does no name lookups). */
export function parseHost(value: string): string {
  if (value === "localhost") return "127.0.0.1";
  if (isIP(value) === 0) throw new ConfigError(`--host: "${value}" is not an IP address (e.g. 127.0.0.1, ::1, 0.0.0.0, ::)`);
  return value;
}

/** A whole number in [min, max] from a flag or environment value; `fallback` when absent. */
export function parseInteger(flag: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(`${flag}: "${value}" is not a whole number from ${min} to ${max}`);
  }
  return n;
}

/**
 * A duration in seconds (fractions allowed, e.g. 0.25) from a flag or environment value, returned in whole
 * milliseconds; `fallbackMs` when absent. 0 is allowed and means "never".
 */
export function parseSeconds(flag: string, value: string | undefined, fallbackMs: number, maxSeconds: number): number {
  if (value === undefined) return fallbackMs;
  const s = /^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(value) ? Number(value) : Number.NaN;
  const ms = Math.round(s * 1000);
  if (!Number.isFinite(s) || s > maxSeconds || (s > 0 && ms === 0)) {
    throw new ConfigError(`${flag}: "${value}" is not a number of seconds from 0.001 to ${maxSeconds} (or 0 for never)`);
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

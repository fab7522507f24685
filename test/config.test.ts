// Config: flags, environment variables and defaults for the chat tunables, and the errors bad values give.

import { describe, expect, test } from "bun:test";
import { ConfigError, defaults, parseConfig, parseSeconds, type RelayConfig } from "../src/config.ts";

function config(argv: string[], env: Record<string, string> = {}): RelayConfig {
  const parsed = parseConfig(argv, env);
  if (parsed.help) throw new Error("unexpected help");
  return parsed.config;
}

describe("chat tunables", () => {
  test("defaults", () => {
    const c = config([]);
    expect(c.maxNameChars).toBe(32);
    expect(c.idleTimeoutMs).toBe(3_600_000);
    expect(c.maxClients).toBeGreaterThanOrEqual(10_000);
    expect(c).toEqual(defaults);
    expect(Object.isFrozen(c)).toBe(true);
  });

  test("flags", () => {
    const c = config(["--max-name", "16", "--idle-timeout", "0.25", "--max-clients", "3"]);
    expect([c.maxNameChars, c.idleTimeoutMs, c.maxClients]).toEqual([16, 250, 3]);
  });

  test("environment variables, and flags over them", () => {
    const env = { RELAY_MAX_NAME: "20", RELAY_IDLE_TIMEOUT: "90", RELAY_MAX_CLIENTS: "100" };
    const c = config([], env);
    expect([c.maxNameChars, c.idleTimeoutMs, c.maxClients]).toEqual([20, 90_000, 100]);
    expect(config(["--max-clients", "7"], env).maxClients).toBe(7);
  });

  test("--idle-timeout 0 means never", () => expect(config(["--idle-timeout", "0"]).idleTimeoutMs).toBe(0));

  const bad: [string[], RegExp][] = [
    [["--max-name", "0"], /--max-name: "0" is not a whole number from 1 to 64/],
    [["--max-name", "65"], /--max-name/],
    [["--max-clients", "0"], /--max-clients: "0"/],
    [["--max-clients", "many"], /--max-clients/],
    [["--idle-timeout=-1"], /--idle-timeout: "-1" is not a number of seconds/],
    [["--idle-timeout", "1e3"], /--idle-timeout/],
    [["--idle-timeout", "0.0001"], /--idle-timeout/],
    [["--idle-timeout", "604801"], /--idle-timeout/],
    [["--max-datagram", "128"], /--max-datagram: 128 is too small for names of 32 characters; .* at least \d+/],
  ];
  for (const [argv, message] of bad) {
    test(`refused: ${argv.join(" ")}`, () => {
      expect(() => config(argv)).toThrow(ConfigError);
      expect(() => config(argv)).toThrow(message);
    });
  }

  test("a small --max-datagram is fine with a short --max-name", () => {
    expect(config(["--max-datagram", "128", "--max-name", "4"]).maxDatagramBytes).toBe(128);
  });
});

test("parseSeconds", () => {
  expect(parseSeconds("--x", undefined, 5, 10)).toBe(5);
  expect(parseSeconds("--x", " 1.5 ", 5, 10)).toBe(1500);
  expect(parseSeconds("--x", ".5", 5, 10)).toBe(500);
  expect(parseSeconds("--x", "10", 5, 10)).toBe(10_000);
  expect(() => parseSeconds("--x", "", 5, 10)).toThrow(ConfigError);
  expect(() => parseSeconds("--x", "NaN", 5, 10)).toThrow(ConfigError);
});

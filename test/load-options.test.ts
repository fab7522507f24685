// Load generator flags: defaults, accepted values, and a one-line error naming flag and value for bad ones.

import { describe, expect, test } from "bun:test";
import { ConfigError } from "../src/config.ts";
import { type LoadOptions, parseLoadOptions } from "../src/load/options.ts";

function parse(...argv: string[]): LoadOptions {
  const p = parseLoadOptions(argv, 2);
  if (p.help) throw new Error("help");
  return p.options;
}

describe("load options", () => {
  test("defaults", () => {
    const o = parse();
    expect(o).toMatchObject({ host: "127.0.0.1", port: 65432, clients: 1000, senders: 1000, rate: 100, durationS: 10, payloadBytes: 32, ramp: 0, workers: 2, bind: "0.0.0.0", json: false, spawnServer: false });
    expect(Object.isFrozen(o)).toBe(true);
  });

  test("every flag", () => {
    const o = parse("--host", "::1", "--port", "4000", "--clients", "50", "--senders", "5", "--rate", "2.5e3", "--duration", "0.5", "--payload", "64", "--ramp", "100", "--workers", "3", "--bind", "::1", "--json", "--json-stream", "--out", "/tmp/x.json", "--max-loss", "0.001", "--max-p99", "12.5", "--relay-pid", "42", "--quiet");
    expect(o).toMatchObject({ host: "::1", port: 4000, clients: 50, senders: 5, rate: 2500, durationS: 0.5, payloadBytes: 64, ramp: 100, workers: 3, bind: "::1", json: true, jsonStream: true, out: "/tmp/x.json", maxLoss: 0.001, maxP99Ms: 12.5, relayPid: 42, quiet: true });
  });

  test("an IPv6 target binds the clients to ::, localhost means 127.0.0.1, workers never exceed clients", () => {
    expect(parse("--host", "::1").bind).toBe("::");
    expect(parse("--host", "localhost").host).toBe("127.0.0.1");
    expect(parse("--clients", "1").workers).toBe(1);
  });

  test("--help", () => {
    expect(parseLoadOptions(["--help"], 2)).toEqual({ help: true });
    expect(parseLoadOptions(["-h"], 2)).toEqual({ help: true });
  });

  test.each([
    [["--clients", "0"], "--clients"],
    [["--clients", "ten"], "--clients"],
    [["--clients", "10", "--senders", "11"], "--senders"],
    [["--rate", "-1"], "--rate"],
    [["--rate", "fast"], "--rate"],
    [["--duration", "0"], "--duration"],
    [["--payload", "10"], "--payload"],
    [["--port", "70000"], "--port"],
    [["--host", "relay.example"], "--host"],
    [["--host", "0.0.0.0"], "--host"],
    [["--bind", "::1"], "--bind"],
    [["--clients", "2", "--workers", "3"], "--workers"],
    [["--max-loss", "1.5"], "--max-loss"],
    [["--max-p99", "soon"], "--max-p99"],
    [["--out", ""], "--out"],
    [["--spawn-server", "--port", "4000"], "--spawn-server"],
    [["--frobnicate"], "frobnicate"],
    [["--rate"], "--rate"],
    [["stray"], "stray"],
  ])("%j is refused, naming %s", (argv, flag) => {
    let error: unknown;
    try {
      parseLoadOptions(argv, 2);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(flag);
    expect((error as Error).message).not.toContain("\n");
  });
});

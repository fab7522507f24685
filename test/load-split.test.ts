// The fleet split: contiguous, complete, deterministic shares of ids, senders and rate.

import { expect, test } from "bun:test";
import { parseAgentFlags, parseLoadOptions } from "../src/load/options.ts";
import { splitRun } from "../src/load/split.ts";

test("shares are contiguous, cover every id and sender, and keep the rate per sender", () => {
  for (const [clients, senders, rate, agents] of [[20, 20, 200, 2], [5, 4, 100, 3], [7, 0, 50, 2], [3, 2, 9, 3], [100_000, 1000, 1e6, 7]] as const) {
    const shares = splitRun(clients, senders, rate, agents);
    expect(shares).toEqual(splitRun(clients, senders, rate, agents));
    let id = 0;
    let sender = 0;
    for (const s of shares) {
      expect(s.idBase).toBe(id);
      expect(s.senderBase).toBe(sender);
      expect(s.senders).toBeLessThanOrEqual(s.clients);
      if (senders > 0) expect(s.rate).toBeCloseTo((rate * s.senders) / senders, 9);
      id += s.clients;
      sender += s.senders;
    }
    expect(id).toBe(clients);
    expect(sender).toBe(senders);
    expect(shares.reduce((r, s) => r + s.rate, 0)).toBeCloseTo(senders > 0 ? rate : 0, 6);
  }
});

test("fleet flags: --agents and --bus go together; agent flags need --bus", () => {
  expect(() => parseLoadOptions(["--agents", "2"])).toThrow("--agents needs --bus");
  expect(() => parseLoadOptions(["--bus", "nats://127.0.0.1:4222"])).toThrow("--bus needs --agents");
  expect(() => parseLoadOptions(["--bus", "127.0.0.1:4222", "--agents", "2"])).toThrow("--bus");
  expect(() => parseLoadOptions(["--bus", "nats://127.0.0.1:4222", "--agents", "3", "--clients", "2"])).toThrow("more than --clients");
  const ok = parseLoadOptions(["--bus", "nats://127.0.0.1:4222", "--agents", "2"]);
  expect(ok.help === false && ok.options.agentsTimeoutS).toBe(30);
  expect(() => parseAgentFlags([])).toThrow("--bus: required");
  expect(() => parseAgentFlags(["--bus", "nats://127.0.0.1:4222", "--name", "a.b"])).toThrow("--name");
  expect(parseAgentFlags(["--bus", "nats://127.0.0.1:4222", "--name", "gen-1"])).toEqual({ help: false, options: { bus: "nats://127.0.0.1:4222", name: "gen-1", bind: undefined } });
});

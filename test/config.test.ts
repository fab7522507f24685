// parseConfig: flags over environment over defaults, and every bad value refused with the flag named.

import { describe, expect, test } from "bun:test";
import { ConfigError, defaults, fanoutCap, LAN_FANOUT_PER_SECOND, parseConfig, parseSeconds, type RelayConfig } from "../src/config.ts";

function config(argv: string[], env: Record<string, string> = {}): RelayConfig {
  const parsed = parseConfig(argv, env);
  if (parsed.help) throw new Error("unexpected --help");
  return parsed.config;
}

describe("parseConfig", () => {
  test("defaults: 127.0.0.1:65432, 2048-byte datagrams, echo on, console on", () => {
    expect(config([])).toEqual(defaults);
  });

  test.each<[string[], Record<string, string>, Partial<RelayConfig>]>([
    [["--host", "::1", "--port", "0"], {}, { host: "::1", port: 0 }],
    [["--host", "localhost"], {}, { host: "127.0.0.1" }],
    [["--host", "0.0.0.0"], {}, { host: "0.0.0.0" }],
    [["--max-datagram", "512"], {}, { maxDatagramBytes: 512 }],
    [["--no-echo", "--quiet"], {}, { echo: false, quiet: true }],
    [[], { RELAY_PORT: "4000", RELAY_HOST: "::", RELAY_NO_ECHO: "1", RELAY_QUIET: "yes" }, { port: 4000, host: "::", echo: false, quiet: true }],
    [[], { RELAY_MAX_DATAGRAM: "1200", RELAY_SEND_QUEUE: "10" }, { maxDatagramBytes: 1200, sendQueuePackets: 10 }],
    [["--recv-buffer", "0", "--send-buffer", "65536"], {}, { recvBufferBytes: 0, sendBufferBytes: 65536 }],
    [["--send-queue-bytes", "0"], { RELAY_SEND_QUEUE_BYTES: "1024" }, { sendQueueBytes: 0 }],
    [[], { RELAY_SEND_QUEUE_BYTES: "17179869184" }, { sendQueueBytes: 2 ** 34 }],
    [["--send-batch", "64"], {}, { sendBatchClients: 64 }],
    [[], { RELAY_SEND_BATCH: "1" }, { sendBatchClients: 1 }],
    [[], { RELAY_RECV_BUFFER: "1048576" }, { recvBufferBytes: 1 << 20 }],
    [["--port", "5000"], { RELAY_PORT: "4000" }, { port: 5000 }],
    [[], { RELAY_NO_ECHO: "0", RELAY_QUIET: "" }, { echo: true, quiet: false }],
  ])("%p with env %p", (argv, env, want) => {
    expect(config(argv, env)).toEqual({ ...defaults, ...want });
  });

  test("the result is frozen", () => {
    expect(Object.isFrozen(config([]))).toBe(true);
  });

  test("--help and -h ask for help", () => {
    expect(parseConfig(["--help"], {})).toEqual({ help: true });
    expect(parseConfig(["-h"], {})).toEqual({ help: true });
  });

  test.each<[string[], Record<string, string>, string]>([
    [["--port", "65536"], {}, '--port: "65536" is not a whole number from 0 to 65535'],
    [["--port", "-1"], {}, "--port"],
    [["--port", "1e3"], {}, '--port: "1e3"'],
    [["--port", ""], {}, '--port: ""'],
    [[], { RELAY_PORT: "http" }, '--port: "http"'],
    [["--max-datagram", "63"], {}, "from 64 to 65507"],
    [["--max-datagram", "65508"], {}, "from 64 to 65507"],
    [["--send-batch", "0"], {}, '--send-batch: "0" is not a whole number from 1 to 65536'],
    [["--send-queue-bytes", "17179869185"], {}, '--send-queue-bytes: "17179869185" is not a whole number from 0 to 17179869184'],
    [["--host", "my-host"], {}, '--host: "my-host" is not an IP address'],
    [["--wat"], {}, "Unknown option '--wat'"],
    [["extra"], {}, "Unexpected argument 'extra'"],
    [["--quiet=yes"], {}, "--quiet"],
    [[], { RELAY_QUIET: "maybe" }, 'RELAY_QUIET: "maybe"'],
  ])("refuses %p %p", (argv, env, message) => {
    expect(() => parseConfig(argv, env)).toThrow(ConfigError);
    expect(() => parseConfig(argv, env)).toThrow(message);
  });
});

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

describe("scale-out flags", () => {
  test.each<[string[], Record<string, string>, Partial<RelayConfig>]>([
    [[], {}, { workers: 0, bus: undefined }],
    [["--workers", "4"], {}, { workers: 4 }],
    [[], { RELAY_WORKERS: "2" }, { workers: 2 }],
    [["--bus", "nats://127.0.0.1:4222"], {}, { bus: "nats://127.0.0.1:4222" }],
    [["--bus", "nats://127.0.0.1"], {}, { bus: "nats://127.0.0.1:4222" }],
    [["--bus", "nats://[::1]:5000"], {}, { bus: "nats://[::1]:5000" }],
    [[], { RELAY_BUS: "nats://10.0.0.5:4222" }, { bus: "nats://10.0.0.5:4222" }],
    [[], { RELAY_BUS: "" }, { bus: undefined }],
  ])("%p with env %p", (argv, env, want) => {
    expect(config(argv, env)).toEqual({ ...defaults, ...want });
  });

  test.each<[string[], RegExp]>([
    [["--workers=-1"], /--workers: "-1" is not a whole number from 0 to 256/],
    [["--workers", "257"], /--workers/],
    [["--bus", "127.0.0.1:4222"], /--bus: "127.0.0.1:4222" is not a NATS server URL like nats:\/\/127.0.0.1:4222/],
    [["--bus", "http://127.0.0.1:4222"], /--bus/],
    [["--bus", "nats://127.0.0.1:4222/x"], /--bus/],
    [["--workers", "2", "--bus", "nats://127.0.0.1:4222"], /--workers and --bus cannot be combined/],
  ])("refused: %p", (argv, message) => {
    expect(() => config(argv)).toThrow(ConfigError);
    expect(() => config(argv)).toThrow(message);
  });
});

describe("abuse limits", () => {
  test("flags and environment variables", () => {
    const c = config(["--rate-limit", "0", "--burst", "5", "--join-rate", "7", "--join-rate-total", "0", "--verify-address", "ON"], {
      RELAY_UNKNOWN_RATE: "9",
      RELAY_UNKNOWN_RATE_TOTAL: "90",
      RELAY_MAX_FANOUT_RATE: "1000",
    });
    expect(c).toMatchObject({ rateLimitPerSecond: 0, burst: 5, joinsPerIpPerSecond: 7, joinsPerSecond: 0, verifyAddress: "on", unknownPerPrefixPerSecond: 9, unknownPerSecond: 90, maxFanoutPerSecond: 1000 });
  });

  test("the fan-out cap's auto follows the bind address", () => {
    expect(fanoutCap(config([]))).toBe(0);
    expect(fanoutCap(config(["--host", "::1"]))).toBe(0);
    expect(fanoutCap(config(["--host", "0.0.0.0"]))).toBe(LAN_FANOUT_PER_SECOND);
    expect(fanoutCap(config(["--host", "0.0.0.0", "--max-fanout-rate", "0"]))).toBe(0);
    expect(config(["--max-fanout-rate", "auto"]).maxFanoutPerSecond).toBe("auto");
  });

  test.each<[string[], string]>([
    [["--verify-address", "maybe"], '--verify-address: "maybe" is not one of on, off, auto'],
    [["--burst", "0"], '--burst: "0"'],
    [["--join-rate", "0"], '--join-rate: "0"'],
    [["--max-fanout-rate", "fast"], '--max-fanout-rate: "fast"'],
  ])("refuses %p", (argv, message) => {
    expect(() => parseConfig(argv, {})).toThrow(message);
  });
});

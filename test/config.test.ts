// parseConfig: flags over environment over defaults, and every bad value refused with the flag named.

import { describe, expect, test } from "bun:test";
import { ConfigError, defaults, parseConfig, type RelayConfig } from "../src/config.ts";

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

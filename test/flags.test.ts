// The flag table: one row per flag gives parsing, the environment fallback, checks, defaults and the --help text.

import { describe, expect, test } from "bun:test";
import { choice, ConfigError, custom, decimal, flagDefaults, host, integer, readFlags, seconds, text, toggle } from "../src/flags.ts";
import { usageText } from "../src/usage.ts";

const table = {
  port: integer({ section: "Target:", flag: "port", env: "T_PORT", default: 4000, min: 1, max: 65535, help: "port to use" }),
  ratio: decimal({ flag: "ratio", default: undefined, min: 0, max: 1, help: "a fraction" }),
  waitMs: seconds({ flag: "wait", env: "T_WAIT", defaultMs: 2500, max: 60, never: true, help: "how long to wait" }),
  pingMs: seconds({ flag: "ping", defaultMs: 1000, max: 60, never: false, help: "seconds between pings" }),
  echo: toggle({ section: "Behaviour:", flag: "no-echo", env: "T_NO_ECHO", inverted: true, help: "do not echo" }),
  quiet: toggle({ flag: "quiet", env: "T_QUIET", help: "say less" }),
  name: text({ flag: "name", arg: "NAME", default: undefined, trim: true, nonEmpty: "a name", help: "who you are" }),
  bind: host({ flag: "bind", default: "0.0.0.0", help: "address to bind" }),
  mode: choice({ flag: "mode", arg: "M", choices: ["fast", "slow"], default: "slow", help: "fast|slow" }),
  tags: custom<readonly string[]>({ flag: "tag", arg: "T", default: [], multiple: true, parse: (v) => v.split(","), help: "tags, repeatable" }),
};

function read(argv: string[], env: Record<string, string> = {}) {
  const r = readFlags(table, argv, env);
  if (r.help) throw new Error("unexpected --help");
  return r;
}

function refusal(argv: string[], env: Record<string, string> = {}): string {
  try {
    readFlags(table, argv, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error(`accepted ${argv.join(" ")}`);
}

describe("readFlags", () => {
  test("nothing given: every row's default, nothing marked given", () => {
    const { values, given } = read([]);
    expect(values).toEqual(flagDefaults(table));
    expect(values).toEqual({ port: 4000, ratio: undefined, waitMs: 2500, pingMs: 1000, echo: true, quiet: false, name: undefined, bind: "0.0.0.0", mode: "slow", tags: [] });
    expect(given.size).toBe(0);
  });

  test("flag over environment over default", () => {
    expect(read([], { T_PORT: "5000" }).values.port).toBe(5000);
    expect(read(["--port", "6000"], { T_PORT: "5000" }).values.port).toBe(6000);
    expect(read([], { T_QUIET: "yes", T_NO_ECHO: "1" }).values).toMatchObject({ quiet: true, echo: false });
    expect(read(["--quiet"], { T_QUIET: "off" }).values.quiet).toBe(true);
    expect(read(["--no-echo"]).values.echo).toBe(false);
    expect([...read(["--port", "1"], { T_WAIT: "3" }).given].sort()).toEqual(["port", "waitMs"]);
  });

  test("each kind reads its text", () => {
    const { values } = read(["--ratio", ".5", "--wait", "0", "--ping", "0.25", "--name", " ann ", "--bind", "localhost", "--mode", " FAST ", "--tag", "a,b", "--tag", "c"]);
    expect(values).toMatchObject({ ratio: 0.5, waitMs: 0, pingMs: 250, name: "ann", bind: "127.0.0.1", mode: "fast", tags: ["a", "b", "c"] });
  });

  test("--help and -h win before any value is checked", () => {
    expect(readFlags(table, ["--port", "x", "--help"])).toEqual({ help: true });
    expect(readFlags(table, ["-h"], { T_PORT: "x" })).toEqual({ help: true });
  });

  test.each<[string[], Record<string, string>, string]>([
    [["--port", "0"], {}, '--port: "0" is not a whole number from 1 to 65535'],
    [[], { T_PORT: "http" }, '--port: "http" is not a whole number from 1 to 65535'],
    [["--ratio", "2"], {}, '--ratio: "2" is not a number from 0 to 1'],
    [["--wait", "61"], {}, '--wait: "61" is not a number of seconds from 0.001 to 60 (or 0 for never)'],
    [["--ping", "0"], {}, '--ping: "0" is not a number of seconds from 0.001 to 60'],
    [[], { T_QUIET: "maybe" }, 'T_QUIET: "maybe" is not one of 1, 0, true, false, yes, no, on, off'],
    [["--name", "  "], {}, '--name: "" is not a name'],
    [["--bind", "my-host"], {}, '--bind: "my-host" is not an IP address'],
    [["--mode", "medium"], {}, '--mode: "medium" is not one of fast, slow'],
    [["--bogus"], {}, "Unknown option '--bogus'"],
    [["stray"], {}, "Unexpected argument 'stray'"],
    [["--port"], {}, "--port"],
    [["--quiet=yes"], {}, "--quiet"],
  ])("refuses %p %p in one line naming the flag", (argv, env, message) => {
    const m = refusal(argv, env);
    expect(m).toContain(message);
    expect(m).not.toContain("\n");
  });

  test("parseArgs's several-line complaints become one line", () => {
    const m = refusal(["--port", "-1"]);
    expect(m).toContain("--port");
    expect(m).not.toContain("\n");
  });
  test("--ping 0 does not offer 0 for never", () => expect(refusal(["--ping", "0"])).not.toContain("never"));
});

describe("usageText", () => {
  const usage = usageText({ command: "bun run tool.ts", about: "Does a thing.", footer: "Exit: 0 ok." }, table);
  const lines = usage.text.split("\n");

  test("usage line, about, sections in row order, help line, footer", () => {
    expect(usage.command).toBe("bun run tool.ts");
    expect(lines.slice(0, 4)).toEqual(["Usage: bun run tool.ts [options]", "", "Does a thing.", ""]);
    expect(lines.indexOf("Target:")).toBeLessThan(lines.indexOf("Behaviour:"));
    expect(lines.at(-4)).toBe("  -h, --help           this text");
    expect(lines.slice(-3)).toEqual(["", "Exit: 0 ok.", ""]);
  });

  test("each row: flag and placeholder, help, then environment variable and default", () => {
    expect(lines).toContain("  --port N             port to use (T_PORT; default 4000)");
    expect(lines).toContain("  --wait S             how long to wait (T_WAIT; default 2.5)");
    expect(lines).toContain("  --no-echo            do not echo (T_NO_ECHO=1)");
    expect(lines).toContain("  --ratio N            a fraction");
    expect(lines).toContain("  --bind ADDR          address to bind (default 0.0.0.0)");
    expect(lines).toContain("  --mode M             fast|slow (default slow)");
    expect(lines).toContain("  --tag T              tags, repeatable");
  });

  test("long help wraps under its column within 100, keeping the note whole", () => {
    const wordy = {
      n: integer({ flag: "n", env: "A_RATHER_LONG_ENVIRONMENT_NAME", default: 123456, min: 0, max: 1e6, help: "word ".repeat(30).trim() }),
      long: integer({ flag: "a-very-long-flag-name", default: 1, min: 0, max: 1, defaultText: "default: one", help: "text" }),
    };
    const out = usageText({ command: "x", about: "" }, wordy).text.split("\n");
    for (const line of out) expect(line.length).toBeLessThanOrEqual(100);
    const first = out.findIndex((l) => l.startsWith("  --n N"));
    expect(out[first + 1]).toMatch(/^ {23}word/);
    expect(out).toContain(`${" ".repeat(23)}(A_RATHER_LONG_ENVIRONMENT_NAME; default 123456)`);
    expect(out).toContain("  --a-very-long-flag-name N  text (default: one)");
  });
});

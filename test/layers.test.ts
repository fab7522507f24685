// Import direction: the core never imports its optional layers or the tools, and the protocol imports nothing of the server.

import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "../src");

/** The composition roots: they wire the core to its layers, so they may import anything. */
const ENTRIES = new Set(["server.ts", "client.ts", "load.ts"]);
/** What a tool (client/, load/) may use of the core besides the protocol: option parsing and usage, and the libc calls. */
const TOOL_CORE = new Set(["config.ts", "flags.ts", "usage.ts", "libc.ts"]);
const LAYERS = ["admin/", "defence/", "scale/", "load/", "client/"];

// `import … from "x"`, `export … from "x"`, `import "x"`, `import("x")`, and a worker's `new URL("x", import.meta.url)`.
const SPECIFIER = /\bfrom\s+"([^"]+)"|\bimport\s+"([^"]+)"|\bimport\(\s*"([^"]+)"\s*\)|new URL\(\s*"([^"]+)",\s*import\.meta\.url\)/g;

/** Every .ts file under src/, as a path relative to src/ with forward slashes. */
function sources(dir = SRC): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...sources(path));
    else if (entry.name.endsWith(".ts")) found.push(relative(SRC, path).split("\\").join("/"));
  }
  return found.sort();
}

/** What `file` imports: src-relative paths for its own modules, bare specifiers (node:, packages) as written. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(SRC, file), "utf8");
  const found: string[] = [];
  for (const m of text.matchAll(SPECIFIER)) {
    const spec = m[1] ?? m[2] ?? m[3] ?? m[4]!;
    found.push(spec.startsWith(".") ? relative(SRC, resolve(SRC, dirname(file), spec)).split("\\").join("/") : spec);
  }
  return found;
}

const files = sources();
const core = files.filter((f) => !f.includes("/") && !ENTRIES.has(f));

describe("import direction", () => {
  test("src/ has a core, a protocol folder and the layers this test knows", () => {
    expect(core).toContain("relay.ts");
    expect(files.some((f) => f.startsWith("protocol/"))).toBe(true);
    const folders = new Set(files.filter((f) => f.includes("/")).map((f) => f.slice(0, f.indexOf("/") + 1)));
    expect([...folders].sort()).toEqual(["admin/", "client/", "defence/", "load/", "protocol/", "scale/"]);
  });

  test("the core imports no optional layer and no tool", () => {
    const wrong = core.flatMap((f) => importsOf(f).filter((to) => LAYERS.some((layer) => to.startsWith(layer))).map((to) => `${f} → ${to}`));
    expect(wrong).toEqual([]);
  });

  test("the protocol imports only node: builtins and itself", () => {
    const protocol = files.filter((f) => f.startsWith("protocol/"));
    const wrong = protocol.flatMap((f) => importsOf(f).filter((to) => !to.startsWith("node:") && !to.startsWith("protocol/")).map((to) => `${f} → ${to}`));
    expect(wrong).toEqual([]);
  });

  test("the client and the load generator use the protocol and option parsing, never the server", () => {
    const tools = files.filter((f) => f.startsWith("client/") || f.startsWith("load/"));
    const own = (f: string) => f.slice(0, f.indexOf("/") + 1);
    const wrong = tools.flatMap((f) =>
      importsOf(f)
        .filter((to) => to.endsWith(".ts") && !to.startsWith(own(f)) && !to.startsWith("protocol/") && !TOOL_CORE.has(to))
        .map((to) => `${f} → ${to}`),
    );
    expect(wrong).toEqual([]);
  });

  test("the optional layers never import the tools", () => {
    const layers = files.filter((f) => f.startsWith("admin/") || f.startsWith("defence/") || f.startsWith("scale/"));
    const wrong = layers.flatMap((f) => importsOf(f).filter((to) => to.startsWith("client/") || to.startsWith("load/")).map((to) => `${f} → ${to}`));
    expect(wrong).toEqual([]);
  });

  test("the import scan sees imports of every shape", () => {
    // Guards the regex: a scan that found nothing would pass every rule above.
    expect(importsOf("relay.ts")).toContain("chat.ts");
    expect(importsOf("scale/workers.ts")).toContain("scale/worker-main.ts");
    expect(importsOf("protocol/names.ts")).toEqual(["protocol/confusables.ts", "protocol/wire.ts"]);
  });
});

// Test helpers for the admin endpoint: its URL from a spawned relay's output, HTTP with a token, /metrics read back.

import type { ServerProcess } from "./server-process.ts";

/** promtool (Debian package prometheus), or undefined where it is not installed (the format test then skips, saying so). */
export const promtoolPath: string | undefined = Bun.which("promtool") ?? undefined;

/** Waits (bounded) for the relay's `[SERVER] Admin on http://…/` line and returns the URL. */
export async function adminUrl(server: ServerProcess, timeoutMs = 5000): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const line = server.lines.find((l) => l.startsWith("[SERVER] Admin on "));
    if (line !== undefined) return line.slice("[SERVER] Admin on ".length);
    if (performance.now() > deadline) throw new Error(`no Admin line within ${timeoutMs} ms: ${server.lines.join(" | ")}`);
    await Bun.sleep(10);
  }
}

/** GET `path` under `base`, with `Authorization: Bearer token` when a token is given; bounded. */
export function get(base: string, path: string, token?: string): Promise<Response> {
  return fetch(new URL(path, base), { headers: token === undefined ? {} : { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000) });
}

/** Series of a Prometheus exposition: `name{labels}` → value (HELP/TYPE lines skipped). */
export function parseMetrics(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    series.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return series;
}

/** The fields of a `[SERVER] Summary: k=v … (reason=n …) k=v` line as numbers; drop reasons under their own names. */
export function parseSummary(stderr: string): Map<string, number> {
  const line = stderr.split("\n").find((l) => l.startsWith("[SERVER] Summary: "));
  if (line === undefined) throw new Error(`no summary in: ${stderr}`);
  const fields = new Map<string, number>();
  for (const m of line.matchAll(/([a-z_]+)=(\d+)/g)) fields.set(m[1]!, Number(m[2]));
  return fields;
}

/** Polls `base`/metrics until `done` holds for its series (bounded); returns the last series read. */
export async function metricsUntil(base: string, done: (m: Map<string, number>) => boolean, timeoutMs = 5000, token?: string): Promise<Map<string, number>> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const m = parseMetrics(await (await get(base, "metrics", token)).text());
    if (done(m)) return m;
    if (performance.now() > deadline) throw new Error(`metrics never got there within ${timeoutMs} ms: ${JSON.stringify(Object.fromEntries(m))}`);
    await Bun.sleep(50);
  }
}

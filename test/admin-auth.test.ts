// Who may read the admin endpoint: a token off loopback (refused at start-up without one), 401 without it, never shown.

import { describe, expect, test } from "bun:test";
import { adminUrl, get } from "./support/admin.ts";
import { bun, root, runScript, spawnServer } from "./support/server-process.ts";

const TOKEN = "s3cret-token-for-tests";

// A non-loopback address made inside a private network namespace, so nothing outside can reach it.
const netns = "ip link set lo up && ip addr add 10.200.0.1/24 dev lo";
const probe = Bun.spawnSync(["unshare", "-n", "sh", "-c", netns], { stderr: "pipe" });
const skipReason = probe.exitCode === 0 ? "" : ` [SKIPPED: cannot make a private network namespace (${probe.stderr.toString().trim() || "unshare unavailable"})]`;
if (skipReason !== "") console.warn(`admin off-loopback test${skipReason}`);

describe("admin token", () => {
  test("bound off loopback without a token, the relay refuses to start with one line, before binding anything", async () => {
    const { code, stderr } = await runScript("server.ts", ["--port", "0", "--admin", "0.0.0.0:0"]);
    expect(code).toBe(2);
    expect(stderr.split("\n")[0]).toBe(
      "error: --admin: 0.0.0.0:0 is reachable from other hosts; set --admin-token or RELAY_ADMIN_TOKEN too (or bind it to 127.0.0.1)",
    );
  });

  test("with a token set, loopback too wants it: missing or wrong is 401, /healthz and the page need none, /stats never shows it", async () => {
    await using server = await spawnServer(["--admin", "127.0.0.1:0", "--admin-token", TOKEN]);
    const base = await adminUrl(server);
    for (const path of ["metrics", "stats", "clients", "series"]) {
      expect([path, (await get(base, path)).status]).toEqual([path, 401]);
      expect([path, (await get(base, path, "wrong")).status]).toEqual([path, 401]);
      expect([path, (await get(base, path, `${TOKEN}x`)).status]).toEqual([path, 401]);
      expect([path, (await get(base, path, TOKEN)).status]).toEqual([path, 200]);
    }
    const denied = await get(base, "metrics");
    expect(denied.headers.get("www-authenticate")).toContain("Bearer");
    expect((await get(base, "healthz")).status).toBe(200);
    expect((await get(base, "")).status).toBe(200);
    const stats = await (await get(base, "stats", TOKEN)).text();
    expect(stats).not.toContain(TOKEN);
    expect(JSON.parse(stats).config.adminToken).toBe("[redacted]");
  });

  test.skipIf(skipReason !== "")(`off loopback (10.200.0.1 in a private namespace) with RELAY_ADMIN_TOKEN: 401 without it, 200 with it${skipReason}`, async () => {
    const proc = Bun.spawn(["unshare", "-n", "sh", "-c", `${netns} && exec "$0" test/fixtures/admin-off-loopback.ts "$1"`, bun, TOKEN], {
      cwd: root,
      stdout: "pipe",
      stderr: "pipe",
      timeout: 25_000,
    });
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    if (code !== 0) throw new Error(`fixture exited ${code}: ${err}`);
    const r = JSON.parse(out.trim().split("\n").pop()!);
    expect(r.base).toMatch(/^http:\/\/10\.200\.0\.1:\d+\/$/);
    expect(r).toMatchObject({ missing: 401, wrong: 401, right: 200, statsRight: 200, clientsMissing: 401, healthz: 200, page: 200, tokenInStats: false });
  });
});

describe("admin port", () => {
  test("a port in use is one line naming it, and exit 1", async () => {
    using taken = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
    const { code, stderr } = await runScript("server.ts", ["--port", "0", "--admin", `127.0.0.1:${taken.port}`]);
    expect(code).toBe(1);
    expect(stderr.trim()).toBe(`error: cannot serve admin on 127.0.0.1:${taken.port}: address already in use`);
  });

  test("a bad --admin is refused with the flag, the value and the form wanted", async () => {
    const { code, stderr } = await runScript("server.ts", ["--admin", "9100"]);
    expect(code).toBe(2);
    expect(stderr.split("\n")[0]).toBe('error: --admin: "9100" is not HOST:PORT, e.g. 127.0.0.1:9100 or [::1]:0');
  });
});

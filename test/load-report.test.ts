// The load generator's report: intervals[] and HdrHistograms in --out, the --report HTML page in headless Chromium, and `report` over several runs.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodeHistogram } from "../src/load/histogram.ts";
import type { Summary } from "../src/load/summary.ts";
import { runScript } from "./support/server-process.ts";
import { tempDir } from "./support/temp-dir.ts";

const CHROMIUM = "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`skipped: the HTML report in a browser (no ${CHROMIUM}; apt-get install -y chromium)`);

/** The percentiles --out reports, from a decoded histogram. */
function percentiles(encoded: string) {
  const h = decodeHistogram(encoded);
  return { count: h.totalCount, p50: h.getValueAtPercentile(50), p90: h.getValueAtPercentile(90), p99: h.getValueAtPercentile(99), p999: h.getValueAtPercentile(99.9), max: h.maxValue };
}

/** The data tag of a report page. */
function pageData(html: string): { runs: { label: string; summary: Summary }[]; charts: { id: string }[] } {
  const m = /<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html);
  expect(m).not.toBeNull();
  return JSON.parse(m![1]!);
}

describe("load report", () => {
  const dir = tempDir("load-report-");
  const out = join(dir.path, "run.json");
  const html = join(dir.path, "run.html");
  let run: Awaited<ReturnType<typeof runScript>>;
  let summary: Summary;

  beforeAll(async () => {
    const args = ["--spawn-server", "--clients", "30", "--rate", "60", "--duration", "2", "--max-loss", "0.5", "--max-p99", "0.001"];
    run = await runScript("load.ts", [...args, "--json-stream", "--quiet", "--out", out, "--report", html], 30_000);
    summary = JSON.parse(await Bun.file(out).text()) as Summary;
  });
  afterAll(() => dir[Symbol.dispose]());

  test("--out gains intervals[], whole-run histograms, host facts and thresholds", () => {
    expect(run.code).toBe(1); // --max-p99 0.001 ms cannot be met
    const full = summary.intervals.filter((i) => !i.drain);
    expect(full.map((i) => i.t_s)).toEqual([1, 2]);
    expect(summary.intervals.reduce((n, i) => n + i.sent, 0)).toBe(summary.sent);
    expect(summary.intervals.reduce((n, i) => n + i.delivered, 0)).toBe(summary.delivered);
    for (const i of summary.intervals) {
      expect(i.p50_us).toBeLessThanOrEqual(i.p99_us);
      expect(i.p99_us).toBeLessThanOrEqual(i.max_us);
      expect(i.relay?.cpu_s).toBeGreaterThanOrEqual(0); // --spawn-server: the relay's pid and loopback socket are known
      expect(i.relay?.socket_drops).toBe(0);
      expect(percentiles(i.histograms.latency)).toMatchObject({ count: i.delivered, p50: i.p50_us, p99: i.p99_us, max: i.max_us });
    }
    const { mean: _, ...latency } = summary.latency_us;
    expect(percentiles(summary.histograms.latency)).toEqual(latency);
    expect(percentiles(summary.histograms.raw).p99).toBe(summary.raw_latency_us.p99);
    expect(percentiles(summary.histograms.spread).count).toBe(summary.spread_us.count);
    expect(summary.host).toMatchObject({ bun: Bun.version, client_rcvbuf_asked: 1 << 20 });
    expect(summary.thresholds.map((t) => [t.flag, t.pass])).toEqual([["--max-loss", true], ["--max-p99", false]]);
    // --spawn-server wires the relay's admin endpoint: its own figures, and no loss to attribute.
    expect(summary.relay).toMatchObject({ drops: {}, send_errors: 0, attribution: { dominant: "none" } });
  });

  test("--json-stream lines carry the same interval records; the table states thresholds with ✓ and ✗", () => {
    const lines = run.stdout.trim().split("\n").slice(0, -1).map((l) => JSON.parse(l) as { interval: Record<string, unknown> });
    expect(lines.length).toBe(summary.intervals.length);
    lines.forEach((l, i) => expect(l.interval).toMatchObject(summary.intervals[i] as unknown as Record<string, unknown>));
    expect(run.stderr).toMatch(/thresholds ✓ loss .* ≤ --max-loss/);
    expect(run.stderr).toMatch(/\n\s+✗ p99 .* > --max-p99/);
  });

  test("the page is self-contained and its embedded histogram decodes to the JSON's percentiles", async () => {
    const page = await Bun.file(html).text();
    expect(page).not.toMatch(/<(script|link)[^>]+(src|href)=/); // nothing to fetch
    const data = pageData(page);
    expect(data.charts.map((c) => c.id)).toEqual(["throughput", "loss", "latency", "spectrum", "spread"]);
    const embedded = data.runs[0]!.summary;
    const { mean: _, ...latency } = summary.latency_us;
    expect(percentiles(embedded.histograms.latency)).toEqual(latency);
    expect(percentiles(embedded.histograms.raw).p999).toBe(summary.raw_latency_us.p999);
  });

  test.skipIf(!haveChromium)("headless Chromium opens the page with no console errors and draws every chart", async () => {
    const puppeteer = await import("puppeteer-core");
    using profile = tempDir("load-report-chromium-");
    const browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      userDataDir: profile.path,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      page.on("pageerror", (e) => errors.push(String(e)));
      page.on("request", (r) => {
        if (!r.url().startsWith("file:") && !r.url().startsWith("data:")) errors.push(`fetched ${r.url()}`);
      });
      await page.setViewport({ width: 1280, height: 1000 });
      await page.goto(`file://${html}`, { waitUntil: "load" });
      // Runs in the page (a string: the test's own types have no DOM). A canvas is drawn when some pixel is not transparent.
      const drawn = (await page.evaluate(`(() => {
        const charts = [...document.querySelectorAll(".chart")];
        return {
          expected: charts.length,
          drawn: document.body.getAttribute("data-charts-drawn"),
          inked: charts.map((c) => {
            const canvas = c.querySelector("canvas");
            if (canvas === null || canvas.width === 0) return false;
            const px = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            for (let i = 3; i < px.length; i += 4) if (px[i] !== 0) return true;
            return false;
          }),
        };
      })()`)) as { expected: number; drawn: string | null; inked: boolean[] };
      expect(errors).toEqual([]);
      expect(drawn.expected).toBe(5);
      expect(drawn.drawn).toBe("5");
      expect(drawn.inked).toEqual([true, true, true, true, true]);
    } finally {
      await browser.close();
    }
  });

  test("`report A.json B.json --out` overlays both runs on one page", async () => {
    const second = join(dir.path, "after.json");
    writeFileSync(second, await Bun.file(out).text());
    const compare = join(dir.path, "compare.html");
    const r = await runScript("load.ts", ["report", out, second, "--out", compare]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    const data = pageData(await Bun.file(compare).text());
    expect(data.runs.map((x) => x.label)).toEqual(["run", "after"]);
    expect((data.charts[0] as unknown as { series: { label: string }[] }).series.map((s) => s.label)).toEqual(["run: deliveries/s", "run: sent/s", "after: deliveries/s", "after: sent/s"]);
  });

  test("`report` refuses bad arguments (exit 2) and unusable files (exit 1), in one line each", async () => {
    const usage = await runScript("load.ts", ["report", "--out", join(dir.path, "x.html")]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toBe("error: report: no summary files given (the JSON files that --out wrote)\nTry 'bun run src/load.ts report --help'.\n");
    const noOut = await runScript("load.ts", ["report", out]);
    expect(noOut.code).toBe(2);
    const missing = join(dir.path, "missing.json");
    const gone = await runScript("load.ts", ["report", missing, "--out", join(dir.path, "x.html")]);
    expect(gone).toMatchObject({ code: 1, stderr: `error: ${missing}: no such file\n` });
    const foreign = join(dir.path, "package.json");
    writeFileSync(foreign, '{"name": "x"}\n');
    const notOurs = await runScript("load.ts", ["report", foreign, "--out", join(dir.path, "x.html")]);
    expect(notOurs).toMatchObject({ code: 1, stderr: `error: ${foreign}: not a load generator summary (expected the JSON that --out writes)\n` });
    const help = await runScript("load.ts", ["report", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--out FILE.html");
  });
});

// The live page in headless Chromium: it loads without console errors, draws its charts, and shows deliveries/s once lines flow.

import { describe, expect, test } from "bun:test";
import { adminUrl } from "./support/admin.ts";
import { chromiumPath, launchBrowser } from "./support/browser.ts";
import { spawnServer } from "./support/server-process.ts";

const skipReason = chromiumPath === undefined ? " [SKIPPED: chromium is not installed; apt-get install chromium]" : "";
if (skipReason !== "") console.warn(`live page test${skipReason}`);

describe.skipIf(skipReason !== "")(`GET / (the live page)${skipReason}`, () => {
  test("loads with no console errors, draws the charts, and after lines are relayed shows a non-zero deliveries/s", async () => {
    await using server = await spawnServer(["--admin", "127.0.0.1:0", "--quiet", "--rate-limit", "0"]);
    const base = await adminUrl(server);
    await using browser = await launchBrowser();
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("console", (m) => void (m.type() === "error" && errors.push(m.text())));
    page.on("pageerror", (e) => void errors.push(String(e)));
    page.on("requestfailed", (r) => void errors.push(`${r.url()} ${r.failure()?.errorText}`));
    page.on("response", (r) => void (r.status() >= 400 && errors.push(`${r.url()} ${r.status()}`)));
    await page.setViewport({ width: 1280, height: 900 });
    await page.goto(base, { waitUntil: "load", timeout: 15_000 });
    await page.waitForFunction(() => document.querySelectorAll(".uplot canvas").length >= 7, { timeout: 10_000 });

    const peers = await server.join(3, "w");
    // A line every 20 ms for as long as it takes the page's one-second samples to show it (bounded).
    let i = 0;
    const talk = setInterval(() => peers[i++ % 3]!.send(`line ${i}`), 20);
    try {
      await page.waitForFunction(() => /^[1-9]/.test(document.getElementById("deliveries-rate")?.textContent ?? ""), { timeout: 10_000 });
      await page.waitForFunction(() => document.querySelectorAll("#top tbody tr").length === 3, { timeout: 5000 });
    } finally {
      clearInterval(talk);
    }
    const shown = await page.$eval("#deliveries-rate", (e) => e.textContent);
    expect(Number.parseFloat(shown ?? "0")).toBeGreaterThan(0);
    expect(await page.$eval("#clients", (e) => e.textContent)).toBe("3");
    expect(await page.$$eval(".u-title", (ts) => ts.map((t) => t.textContent))).toEqual([
      "Clients",
      "Deliveries/s",
      "Lines/s",
      "Drops/s by reason",
      "Send backlog (datagrams)",
      "Event-loop lag",
      "Fan-out time (one broadcast)",
    ]);
    expect(errors).toEqual([]);
  });
});

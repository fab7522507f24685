// Takes docs/admin-page.png: the live page of a relay saturated by the load generator, in headless Chromium.
// usage: bun bench/admin-screenshot.ts [seconds of load before the shot, default 40] [clients, default 500] [lines/s, default 300]

import { resolve } from "node:path";
import puppeteer from "puppeteer-core";

const root = resolve(import.meta.dir, "..");
const bun = process.execPath;
const seconds = Number(process.argv[2] ?? 40);
const clients = String(process.argv[3] ?? 500);
const rate = String(process.argv[4] ?? 300);

const relay = Bun.spawn([bun, "run", "src/server.ts", "--port", "0", "--rate-limit", "0", "--quiet", "--admin", "127.0.0.1:0"], { cwd: root, stdout: "pipe", stderr: "ignore" });
const reader = relay.stdout.getReader();
let text = "";
while (!/Admin on (\S+)/.test(text)) {
  const { value, done } = await reader.read();
  if (done) throw new Error(`relay exited: ${text}`);
  text += new TextDecoder().decode(value);
}
const port = /Running on [^\n]*:(\d+)/.exec(text)![1]!;
const admin = /Admin on (\S+)/.exec(text)![1]!;
const load = Bun.spawn([bun, "run", "src/load.ts", "--port", port, "--clients", clients, "--senders", "50", "--rate", rate, "--duration", String(seconds + 30), "--workers", "1", "--quiet"], {
  cwd: root,
  stdout: "ignore",
  stderr: "ignore",
});
const browser = await puppeteer.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 1000 });
  await page.goto(admin, { waitUntil: "load" });
  await Bun.sleep(seconds * 1000);
  const out = resolve(root, "docs/admin-page.png");
  await page.screenshot({ path: out, fullPage: true });
  console.log(`${out}: ${await page.$eval("#deliveries-rate", (e) => e.textContent)} deliveries/s shown`);
} finally {
  await browser.close();
  load.kill("SIGKILL");
  relay.kill("SIGKILL");
}

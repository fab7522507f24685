// Test helpers: headless Chromium (the system's, Debian package chromium) driven by puppeteer-core, which downloads nothing.

import { existsSync } from "node:fs";
import puppeteer, { type Browser } from "puppeteer-core";

/** The Chromium binary, or undefined where none is installed (the page tests then skip, saying so). */
export const chromiumPath: string | undefined = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p)) ?? Bun.which("chromium") ?? undefined;

/** Flags for a quiet, offline, sandbox-less headless run (tests run as root in CI). */
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"];

/** Launches headless Chromium; `await using b = await launchBrowser()` closes it. */
export async function launchBrowser(): Promise<Browser & AsyncDisposable> {
  if (chromiumPath === undefined) throw new Error("chromium is not installed");
  const browser = await puppeteer.launch({ executablePath: chromiumPath, headless: true, args: FLAGS, timeout: 20_000 });
  return Object.assign(browser, { [Symbol.asyncDispose]: () => browser.close() });
}

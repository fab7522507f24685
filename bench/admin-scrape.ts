// What a Prometheus scrape every second costs a saturated relay: interleaved rounds with and without it, medians.
// Not a mitata group (bun bench does not run it): each round is a fresh relay process driven by the load generator.
// usage: bun bench/admin-scrape.ts [rounds per arm, default 5] [clients, default 500] [lines/s, default 1000]

import { resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const bun = process.execPath;
const rounds = Number(process.argv[2] ?? 5);
const clients = Number(process.argv[3] ?? 500);
const rate = Number(process.argv[4] ?? 1000);
const WARM_UP_MS = 3000;
const WINDOW_MS = 6000;

/** Starts the relay with the admin endpoint on, and reads its UDP port and admin URL from stdout. */
async function relay(): Promise<{ proc: Bun.Subprocess; port: number; admin: string }> {
  const proc = Bun.spawn([bun, "run", "src/server.ts", "--port", "0", "--rate-limit", "0", "--quiet", "--admin", "127.0.0.1:0"], { cwd: root, stdout: "pipe", stderr: "ignore" });
  const reader = proc.stdout.getReader();
  let text = "";
  const deadline = performance.now() + 10_000;
  while (!/Admin on (\S+)/.test(text) && performance.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  const port = Number(/Running on [^\n]*:(\d+)/.exec(text)?.[1]);
  const admin = /Admin on (\S+)/.exec(text)?.[1];
  if (!port || admin === undefined) throw new Error(`relay did not start: ${text}`);
  return { proc, port, admin };
}

async function deliveries(admin: string): Promise<number> {
  const stats = (await (await fetch(`${admin}stats`)).json()) as { totals: { deliveries: number } };
  return stats.totals.deliveries;
}

/** One round: a fresh relay saturated by the load generator; deliveries a second over the window, scraped or not. */
async function round(scrape: boolean): Promise<number> {
  const r = await relay();
  const load = Bun.spawn(
    [bun, "run", "src/load.ts", "--port", String(r.port), "--clients", String(clients), "--senders", "50", "--rate", String(rate), "--duration", "30", "--workers", "1", "--quiet"],
    { cwd: root, stdout: "ignore", stderr: "ignore" },
  );
  let scrapes = 0;
  const scraper = scrape
    ? setInterval(() => void fetch(`${r.admin}metrics`).then((res) => res.text()).then(() => scrapes++), 1000)
    : undefined;
  try {
    await Bun.sleep(WARM_UP_MS);
    const d0 = await deliveries(r.admin);
    const t0 = performance.now();
    await Bun.sleep(WINDOW_MS);
    const d1 = await deliveries(r.admin);
    const perSecond = ((d1 - d0) * 1000) / (performance.now() - t0);
    if (scrape && scrapes < WINDOW_MS / 1000) throw new Error(`only ${scrapes} scrapes answered`);
    return perSecond;
  } finally {
    if (scraper !== undefined) clearInterval(scraper);
    load.kill("SIGKILL");
    r.proc.kill("SIGKILL");
    await Promise.all([load.exited, r.proc.exited]);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const on: number[] = [];
const off: number[] = [];
for (let i = 0; i < rounds; i++) {
  // Interleaved, and the order alternates, so drift (thermal, neighbours) falls on both arms alike.
  for (const scrape of i % 2 === 0 ? [false, true] : [true, false]) {
    const rateNow = await round(scrape);
    (scrape ? on : off).push(rateNow);
    console.error(`round ${i + 1} ${scrape ? "scraped  " : "unscraped"} ${Math.round(rateNow)} deliveries/s`);
  }
}
const mOn = median(on);
const mOff = median(off);
console.log(
  JSON.stringify({ clients, rate, rounds, windowS: WINDOW_MS / 1000, medianOff: Math.round(mOff), medianOn: Math.round(mOn), costPercent: Number((((mOff - mOn) / mOff) * 100).toFixed(2)), off: off.map(Math.round), on: on.map(Math.round) }),
);

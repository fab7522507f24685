// What a Prometheus scrape every second costs a saturated relay: interleaved rounds with and without it, medians.
// Not a mitata group (bun bench does not run it): each round is a fresh relay process driven by the load generator,
// whose --json-stream counts what its clients received each second. Also: the relay process's CPU per scrape.
// usage: bun bench/admin-scrape.ts [rounds per arm, default 5] [clients, default 500] [lines/s, default 1000]

import { resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const bun = process.execPath;
const rounds = Number(process.argv[2] ?? 5);
const clients = Number(process.argv[3] ?? 500);
const rate = Number(process.argv[4] ?? 1000);
const WARM_UP_S = 3;
const WINDOW_S = 8;

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

/** One round: a fresh relay saturated by the load generator; what its clients received a second over the window. */
async function round(scrape: boolean): Promise<number> {
  const r = await relay();
  const load = Bun.spawn(
    [bun, "run", "src/load.ts", "--port", String(r.port), "--clients", String(clients), "--senders", "50", "--rate", String(rate), "--duration", "30", "--workers", "1", "--quiet", "--json-stream"],
    { cwd: root, stdout: "pipe", stderr: "ignore" },
  );
  let scrapes = 0;
  const scraper = scrape ? setInterval(() => void fetch(`${r.admin}metrics`).then((res) => res.text()).then(() => scrapes++), 1000) : undefined;
  const perSecond: number[] = [];
  const read = (async () => {
    let buffered = "";
    for await (const chunk of load.stdout) {
      buffered += new TextDecoder().decode(chunk);
      for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
        const v = (JSON.parse(buffered.slice(0, nl)) as { interval?: { t_s: number; deliveries_per_s: number } }).interval;
        buffered = buffered.slice(nl + 1);
        if (v !== undefined && v.t_s > WARM_UP_S && v.t_s <= WARM_UP_S + WINDOW_S) perSecond.push(v.deliveries_per_s);
      }
      if (perSecond.length >= WINDOW_S) return;
    }
  })();
  try {
    await Promise.race([read, Bun.sleep((WARM_UP_S + WINDOW_S + 10) * 1000)]);
    if (perSecond.length < WINDOW_S) throw new Error(`only ${perSecond.length} seconds reported`);
    if (scrape && scrapes < WINDOW_S) throw new Error(`only ${scrapes} scrapes answered`);
    return perSecond.reduce((a, b) => a + b, 0) / perSecond.length;
  } finally {
    if (scraper !== undefined) clearInterval(scraper);
    load.kill("SIGKILL");
    r.proc.kill("SIGKILL");
    await Promise.all([load.exited, r.proc.exited]);
  }
}

/** CPU the whole relay process spends per /metrics scrape (idle relay, 2000 scrapes back to back), in µs. */
async function cpuPerScrape(): Promise<number> {
  const r = await relay();
  try {
    const cpu = async () => Number(/^process_cpu_seconds_total (\S+)$/m.exec(await (await fetch(`${r.admin}metrics`)).text())![1]);
    for (let i = 0; i < 200; i++) await cpu(); // warm up
    const before = await cpu();
    const n = 2000;
    for (let i = 0; i < n; i++) await fetch(`${r.admin}metrics`).then((res) => res.text());
    return (((await cpu()) - before) * 1e6) / (n + 1);
  } finally {
    r.proc.kill("SIGKILL");
    await r.proc.exited;
  }
}

const perScrapeUs = await cpuPerScrape();
console.error(`${perScrapeUs.toFixed(0)} µs of relay-process CPU per /metrics scrape`);
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
  JSON.stringify({
    cpuPerScrapeUs: Math.round(perScrapeUs),
    clients,
    rate,
    rounds,
    windowS: WINDOW_S,
    medianOff: Math.round(mOff),
    medianOn: Math.round(mOn),
    costPercent: Number((((mOff - mOn) / mOff) * 100).toFixed(2)),
    off: off.map(Math.round),
    on: on.map(Math.round),
  }),
);

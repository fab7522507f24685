// Test helper: a worker thread that delivers every message of a spread ring to 50 recipients and posts the spreads it completed.

import { parentPort, workerData } from "node:worker_threads";
import { SpreadRing } from "../../src/load/spread.ts";

const { memory, keys, base, recipients } = workerData as { memory: SharedArrayBuffer; keys: number[]; base: number; recipients: number };
const ring = new SpreadRing(memory);
const spreads: number[] = [];
for (let r = 0; r < 50; r++) {
  for (const key of keys) {
    const spread = ring.arrive(key, base + r, recipients);
    if (spread >= 0) spreads.push(spread);
  }
}
parentPort!.postMessage(spreads);

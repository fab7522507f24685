// FanOut against a scripted BatchSender: each call returns n, 0 or throws as told, and records the triples it was handed.
// The same behaviours run on real sockets in relay.test.ts and backpressure.test.ts; here every outcome is reachable without root.

import { describe, expect, test } from "bun:test";
import { type BatchSender, entryBytes, FanOut, type SlotSender, MAX_ERRORS_AT_HEAD, MIN_WINDOW_PACKETS, PER_DESTINATION_BACKLOG_BYTES } from "../src/fanout.ts";
import { encodePrefix } from "../src/protocol/wire.ts";
import { type PacketSlot, Registry } from "../src/registry.ts";
import { RelayStats } from "../src/stats.ts";

/** What one call does: send this many packets (0: a full buffer), send them all, or throw (an error at the first packet). */
type Step = number | "all" | "throw";

/** One packet as the sender was handed it; the payload decoded at call time, since fan-out reuses its buffers. */
interface Triple {
  readonly text: string;
  readonly port: number;
  readonly address: string;
}

const decoder = new TextDecoder();
const ADDRESS = "127.0.0.1";
const FIRST_PORT = 40_000;

class ScriptedSender implements BatchSender {
  /** Every call, as the triples it was handed, in order. */
  readonly calls: Triple[][] = [];
  /** What went out: the first n triples of each call that returned n. */
  readonly out: Triple[] = [];
  private readonly steps: Step[] = [];

  /** `rule` decides a call once the scripted steps have run out; by default everything is sent. */
  constructor(private readonly rule: (call: readonly Triple[]) => Step = () => "all") {}

  /** Queues steps for the next calls, taken before the rule. */
  script(...steps: Step[]): this {
    this.steps.push(...steps);
    return this;
  }

  sendMany(packets: readonly PacketSlot[]): number {
    if (packets.length % 3 !== 0) throw new Error(`sendMany: ${packets.length} elements is not whole triples`);
    const triples: Triple[] = [];
    for (let i = 0; i < packets.length; i += 3) {
      triples.push({ text: decoder.decode(packets[i] as Uint8Array), port: packets[i + 1] as number, address: packets[i + 2] as string });
    }
    this.calls.push(triples);
    const step = this.steps.shift() ?? this.rule(triples);
    if (step === "throw") throw Object.assign(new Error("send ECONNREFUSED"), { code: "ECONNREFUSED" });
    const n = step === "all" ? triples.length : step;
    if (n > triples.length) throw new Error(`script says ${n} sent, the call held ${triples.length}`);
    this.out.push(...triples.slice(0, n));
    return n;
  }

  /** The ports of each call, for asserting where calls start and stop. */
  callPorts(): number[][] {
    return this.calls.map((c) => c.map((t) => t.port));
  }

  /** Packets handed over in all calls, sent or not: the work the sender (the kernel) was asked to do. */
  handed(): number {
    return this.calls.reduce((n, c) => n + c.length, 0);
  }
}

interface Rig {
  readonly fan: FanOut;
  readonly sender: ScriptedSender;
  readonly stats: RelayStats;
  readonly registry: Registry;
  /** Broadcasts `alice ~ ${text}` to everyone. */
  line(text: string): void;
}

function rig(
  clients: number,
  options: { sendBatch?: number; maxBacklog?: number; maxBacklogBytes?: number; rule?: (call: readonly Triple[]) => Step } = {},
): Rig {
  const registry = new Registry(options.sendBatch ?? 1024);
  for (let i = 0; i < clients; i++) registry.add(`c${i}`, ADDRESS, FIRST_PORT + i, 0);
  const sender = new ScriptedSender(options.rule);
  const stats = new RelayStats();
  const fan = new FanOut(sender, registry, stats, 2048, options.maxBacklog ?? 1 << 16, options.maxBacklogBytes ?? 0);
  const prefix = encodePrefix("alice");
  const utf8 = new TextEncoder();
  return { fan, sender, stats, registry, line: (text) => fan.broadcast(fan.frame(prefix, utf8.encode(text))) };
}

/** The ports of recipients `from` to `to` (exclusive). */
function ports(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => FIRST_PORT + from + i);
}

/** What each recipient received, in order: port → texts. */
function byRecipient(out: readonly Triple[]): Map<number, string[]> {
  const got = new Map<number, string[]>();
  for (const t of out) {
    expect(t.address).toBe(ADDRESS);
    let texts = got.get(t.port);
    if (texts === undefined) got.set(t.port, (texts = []));
    texts.push(t.text);
  }
  return got;
}

/** Every one of `clients` recipients got exactly `texts`, in that order: nothing lost, doubled or reordered. */
function everyoneGot(r: Rig, clients: number, texts: readonly string[]): void {
  const got = byRecipient(r.sender.out);
  expect([...got.keys()].sort()).toEqual(ports(0, clients));
  for (const [, lines] of got) expect(lines).toEqual(texts.map((t) => `alice ~ ${t}`));
}

/** Counters other than deliveries, as one object, so a test states every one it expects and the rest stay 0. */
function counters(s: RelayStats) {
  return {
    sendErrors: s.sendErrors,
    backpressureEvents: s.backpressureEvents,
    unsendable: s.drops.unsendable,
    queue_overflow: s.drops.queue_overflow,
    shutdown: s.drops.shutdown,
  };
}
const quiet = { sendErrors: 0, backpressureEvents: 0, unsendable: 0, queue_overflow: 0, shutdown: 0 };

describe("FanOut: no errors", () => {
  test("one sendMany per --send-batch chunk, each holding exactly that chunk's recipients", () => {
    const r = rig(10, { sendBatch: 4 });
    r.line("hi");
    expect(r.sender.callPorts()).toEqual([ports(0, 4), ports(4, 8), ports(8, 10)]);
    everyoneGot(r, 10, ["hi"]);
    expect(r.stats.deliveries).toBe(10);
    expect(counters(r.stats)).toEqual(quiet);
  });

  test("sendTo is one call with one triple", () => {
    const r = rig(0);
    r.fan.sendTo(new TextEncoder().encode("alice ~ psst"), 5000, "::1");
    expect(r.sender.calls).toEqual([[{ text: "alice ~ psst", port: 5000, address: "::1" }]]);
    expect(r.stats.deliveries).toBe(1);
  });
});

describe("FanOut: short counts resume where they stopped", () => {
  test("the retry starts at the first unsent recipient and nothing is sent twice", () => {
    const r = rig(200);
    r.sender.script(50);
    r.line("hi");
    const calls = r.sender.callPorts();
    expect(calls[0]).toEqual(ports(0, 200));
    expect(calls[1]![0]).toBe(FIRST_PORT + 50);
    // By index, in windows: the calls after the first cover recipients 50..199 once, back to back.
    expect(calls.slice(1).flat()).toEqual(ports(50, 200));
    expect(calls[1]).toHaveLength(Math.max(MIN_WINDOW_PACKETS, 2 * 50)); // twice the run before the error
    everyoneGot(r, 200, ["hi"]);
    expect(r.stats.deliveries).toBe(200);
    expect(counters(r.stats)).toEqual({ ...quiet, sendErrors: 1 });
  });

  test("a short count then a full buffer is backpressure, not an error: the rest is queued", () => {
    const r = rig(10);
    r.sender.script(3, 0);
    r.line("hi");
    expect(r.fan.backlogSize).toBe(7);
    expect(r.stats.deliveries).toBe(3);
    expect(counters(r.stats)).toEqual({ ...quiet, backpressureEvents: 1 });
    r.fan.drain();
    expect(r.fan.backlogSize).toBe(0);
    everyoneGot(r, 10, ["hi"]);
    expect(r.stats.deliveries).toBe(10);
  });

  test("several short counts in one chunk: each confirmed error counted once, every recipient served once", () => {
    const r = rig(100);
    r.sender.script(10, 5, 1, 7);
    r.line("hi");
    everyoneGot(r, 100, ["hi"]);
    expect(r.stats.deliveries).toBe(100);
    expect(counters(r.stats)).toEqual({ ...quiet, sendErrors: 4 });
  });

  test("a short count whose retry throws counts the throw alone (as before)", () => {
    const r = rig(10);
    r.sender.script(4, "throw");
    r.line("hi");
    everyoneGot(r, 10, ["hi"]);
    expect(counters(r.stats)).toEqual({ ...quiet, sendErrors: 1 });
  });

  // Pinned decision: a short count is indistinguishable from outside whether packet n met an error (Linux sendmmsg
  // returns n and discards it: the loopback shape of a vanished client) or the native layer just stopped at an
  // internal batch boundary. Bun 1.4.5 was never seen doing the latter (30 000 packets in one call come back whole),
  // and the former is what operators need to see, so a short count whose retry makes progress is one send error,
  // in the backlog as on the direct path. Delivery is the same either way: nothing lost, nothing doubled.
  test("a short count at a batch boundary with no error behind it: resumed, and counted as one send error", () => {
    const r = rig(2048, { sendBatch: 2048 });
    r.sender.script(1024); // stops exactly at what could be an internal sendmmsg batch
    r.line("hi");
    expect(r.sender.calls[1]![0]!.port).toBe(FIRST_PORT + 1024);
    everyoneGot(r, 2048, ["hi"]);
    expect(r.stats.deliveries).toBe(2048);
    expect(counters(r.stats)).toEqual({ ...quiet, sendErrors: 1 });
  });

  test("the same short count while draining the backlog is counted the same way", () => {
    const r = rig(10);
    r.sender.script(0, 4); // queue everything; the drain then stops short after 4, and its retry goes through
    r.line("hi");
    expect(counters(r.stats)).toEqual({ ...quiet, backpressureEvents: 1 });
    r.fan.drain();
    everyoneGot(r, 10, ["hi"]);
    expect(r.fan.backlogSize).toBe(0);
    expect(counters(r.stats)).toEqual({ ...quiet, backpressureEvents: 1, sendErrors: 1 });
  });

  test("K errors in N recipients hand the sender O(N + K) packets, not O(K·N)", () => {
    const n = 4096;
    for (const every of [1, 7, 100, 1000]) {
      // As on loopback: recipient k·every fails once (its error is taken by the packet in its slot), then goes.
      const failed = new Set<number>();
      const fails = (t: Triple) => (t.port - FIRST_PORT) % every === 0 && t.port > FIRST_PORT && !failed.has(t.port);
      const r = rig(n, {
        sendBatch: n,
        rule: (call) => {
          const i = call.findIndex(fails);
          if (i < 0) return "all";
          failed.add(call[i]!.port);
          return i === 0 ? "throw" : i;
        },
      });
      r.line("hi");
      everyoneGot(r, n, ["hi"]);
      const errors = Math.floor((n - 1) / every);
      expect(r.stats.sendErrors).toBe(errors);
      // The first call holds all n; after that each error wastes at most its window's rest, and a window is at
      // most the minimum or about twice the gap before the error. Resending the remainder per error: ~K·N/2.
      expect(r.sender.handed()).toBeLessThanOrEqual(4 * n + errors * MIN_WINDOW_PACKETS);
    }
  });
});

describe("FanOut: errors at the head of a call", () => {
  test("a throw is counted and the same recipients are tried again", () => {
    const r = rig(5);
    r.sender.script("throw");
    r.line("hi");
    expect(r.sender.callPorts()).toEqual([ports(0, 5), ports(0, 5)]);
    everyoneGot(r, 5, ["hi"]);
    expect(counters(r.stats)).toEqual({ ...quiet, sendErrors: 1 });
  });

  test(`${MAX_ERRORS_AT_HEAD - 1} throws in a row are survived; ${MAX_ERRORS_AT_HEAD} drop that one recipient as unsendable`, () => {
    const survive = rig(5);
    survive.sender.script(...Array<Step>(MAX_ERRORS_AT_HEAD - 1).fill("throw"));
    survive.line("hi");
    everyoneGot(survive, 5, ["hi"]);
    expect(counters(survive.stats)).toEqual({ ...quiet, sendErrors: MAX_ERRORS_AT_HEAD - 1 });

    const drop = rig(5);
    drop.sender.script(...Array<Step>(MAX_ERRORS_AT_HEAD).fill("throw"));
    drop.line("hi");
    const got = byRecipient(drop.sender.out);
    expect(got.has(FIRST_PORT)).toBe(false);
    expect([...got.keys()]).toEqual(ports(1, 5));
    expect(drop.sender.calls.at(-1)!.map((t) => t.port)).toEqual(ports(1, 5));
    expect(drop.stats.deliveries).toBe(4);
    expect(counters(drop.stats)).toEqual({ ...quiet, sendErrors: MAX_ERRORS_AT_HEAD, unsendable: 1 });
  });

  test("progress resets the count: throws split by a sent packet drop nobody", () => {
    const r = rig(6);
    r.sender.script("throw", "throw", 1, "throw", "throw");
    r.line("hi");
    everyoneGot(r, 6, ["hi"]);
    expect(counters(r.stats)).toEqual({ ...quiet, sendErrors: 4 });
  });

  test("the last recipient of a chunk can be dropped, and the next chunk still goes out", () => {
    const r = rig(6, { sendBatch: 3 });
    r.sender.script(2, ...Array<Step>(MAX_ERRORS_AT_HEAD).fill("throw"));
    r.line("hi");
    expect([...byRecipient(r.sender.out).keys()]).toEqual([...ports(0, 2), ...ports(3, 6)]);
    expect(counters(r.stats)).toEqual({ ...quiet, sendErrors: MAX_ERRORS_AT_HEAD, unsendable: 1 });
  });

  test("an unreachable recipient at the head of the backlog is dropped as unsendable too", () => {
    const r = rig(4);
    r.sender.script(0, ...Array<Step>(MAX_ERRORS_AT_HEAD).fill("throw"));
    r.line("hi");
    r.fan.drain();
    expect([...byRecipient(r.sender.out).keys()]).toEqual(ports(1, 4));
    expect(r.fan.backlogSize).toBe(0);
    expect(counters(r.stats)).toEqual({ ...quiet, backpressureEvents: 1, sendErrors: MAX_ERRORS_AT_HEAD, unsendable: 1 });
  });
});

describe("FanOut: backpressure", () => {
  test("later lines never overtake the backlog: they are queued without a call, and drained in order", () => {
    const r = rig(6, { sendBatch: 4 });
    r.sender.script(2, 0);
    r.line("one"); // recipients 0-1 get it; 2-3 are queued, and so is the second chunk (4-5)
    const calls = r.sender.calls.length;
    r.line("two");
    r.fan.sendTo(new TextEncoder().encode("alice ~ three"), FIRST_PORT + 5, ADDRESS);
    expect(r.sender.calls.length).toBe(calls);
    expect(r.fan.backlogSize).toBe(4 + 6 + 1);
    r.fan.drain();
    expect(r.fan.backlogSize).toBe(0);
    const got = byRecipient(r.sender.out);
    for (const port of ports(0, 5)) expect(got.get(port)).toEqual(["alice ~ one", "alice ~ two"]);
    expect(got.get(FIRST_PORT + 5)).toEqual(["alice ~ one", "alice ~ two", "alice ~ three"]);
    expect(counters(r.stats)).toEqual({ ...quiet, backpressureEvents: 1 });
    expect(r.stats.deliveries).toBe(13);
  });

  test("a drain that meets a full buffer again stops there and the next drain resumes at the same recipient", () => {
    const r = rig(300);
    r.sender.script(0);
    r.line("one");
    r.line("two");
    r.sender.script(100, 0); // first drain: 100 of line one, then full
    r.fan.drain();
    expect(r.fan.backlogSize).toBe(500);
    const before = r.sender.calls.length;
    r.fan.drain();
    expect(r.sender.calls[before]![0]!.port).toBe(FIRST_PORT + 100);
    expect(r.fan.backlogSize).toBe(0);
    everyoneGot(r, 300, ["one", "two"]);
    expect(r.stats.deliveries).toBe(600);
    expect(counters(r.stats)).toEqual({ ...quiet, backpressureEvents: 1 });
  });

  test("the backlog keeps its own copy of each frame: the reused output buffer may change under it", () => {
    const r = rig(3);
    r.sender.script(1, 0);
    r.line("first");
    r.fan.frame(encodePrefix("mallory"), new TextEncoder().encode("overwrites the buffer"));
    r.fan.drain();
    everyoneGot(r, 3, ["first"]);
  });

  test("queue_overflow: a remainder that would not fit is dropped whole and counted; what fits still goes, in order", () => {
    const r = rig(4, { maxBacklog: 6 });
    r.sender.script(0);
    r.line("one"); // 4 queued
    r.line("two"); // 4 more would make 8 > 6: dropped
    expect(r.fan.backlogSize).toBe(4);
    expect(counters(r.stats)).toEqual({ ...quiet, backpressureEvents: 1, queue_overflow: 4 });
    r.fan.drain();
    r.line("three");
    everyoneGot(r, 4, ["one", "three"]);
    expect(r.stats.deliveries + r.stats.drops.queue_overflow).toBe(12);
  });

  test("abandonBacklog counts what is left as shutdown drops and forgets it; later lines go straight out", () => {
    const r = rig(5);
    r.sender.script(2, 0);
    r.line("one");
    r.line("two");
    expect(r.fan.backlogSize).toBe(8);
    r.fan.abandonBacklog();
    expect(r.fan.backlogSize).toBe(0);
    expect(r.stats.drops.shutdown).toBe(8);
    const calls = r.sender.calls.length;
    r.fan.drain(); // nothing left to send
    expect(r.sender.calls.length).toBe(calls);
    r.line("three");
    const got = byRecipient(r.sender.out);
    expect(got.get(FIRST_PORT)).toEqual(["alice ~ one", "alice ~ three"]);
    expect(got.get(FIRST_PORT + 4)).toEqual(["alice ~ three"]);
    expect(r.stats.deliveries + r.stats.drops.shutdown).toBe(10 + 5);
  });
});

describe("FanOut: the backlog's bytes (--send-queue-bytes)", () => {
  const utf8 = new TextEncoder();
  /** A frame of exactly `bytes` bytes, tagged so a recipient's texts show which arrived. */
  const sized = (tag: string, bytes: number) => utf8.encode(`${tag} `.padEnd(bytes, "x"));
  /** What `alice ~ ${text}` costs queued for `recipients`. */
  const lineBytes = (text: string, recipients: number) => entryBytes(`alice ~ ${text}`.length, recipients);

  test("entries are counted as frame + recipients + overhead, and the count returns to 0 after a drain", () => {
    const r = rig(5, { maxBacklogBytes: 1 << 20 });
    r.sender.script(2, 0);
    r.line("one"); // 3 of 5 left
    r.fan.sendTo(sized("psst", 100), FIRST_PORT, ADDRESS);
    expect(r.fan.backlogByteSize).toBe(lineBytes("one", 3) + entryBytes(100, 1));
    r.sender.script(2, 0);
    r.fan.drain(); // part of the first entry: it still holds its frame and array, so its bytes stay
    expect(r.fan.backlogSize).toBe(2);
    expect(r.fan.backlogByteSize).toBe(lineBytes("one", 3) + entryBytes(100, 1));
    r.fan.drain();
    expect(r.fan.backlogSize).toBe(0);
    expect(r.fan.backlogByteSize).toBe(0);
    expect(counters(r.stats)).toEqual({ ...quiet, backpressureEvents: 1 });
  });

  test("a broadcast that would cross the byte cap is dropped whole as queue_overflow; what fits goes, in order", () => {
    const one = lineBytes("one", 4);
    const r = rig(4, { maxBacklogBytes: 2 * one + 10 });
    r.sender.script(0);
    r.line("one");
    r.line("two");
    r.line("three"); // a third entry of the same size would not fit
    expect(r.fan.backlogSize).toBe(8);
    expect(r.fan.backlogByteSize).toBe(one + lineBytes("two", 4));
    expect(counters(r.stats)).toEqual({ ...quiet, backpressureEvents: 1, queue_overflow: 4 });
    r.fan.drain();
    r.line("four");
    everyoneGot(r, 4, ["one", "two", "four"]);
    expect(r.stats.deliveries + r.stats.drops.queue_overflow).toBe(16);
    expect(r.fan.backlogByteSize).toBe(0);
  });

  test("the datagram cap still holds beside the byte cap", () => {
    const r = rig(4, { maxBacklog: 6, maxBacklogBytes: 1 << 20 });
    r.sender.script(0);
    r.line("one");
    r.line("two");
    expect(r.fan.backlogSize).toBe(4);
    expect(r.stats.drops.queue_overflow).toBe(4);
  });

  test("one destination holds at most PER_DESTINATION_BACKLOG_BYTES of single-recipient entries; others still queue", () => {
    const r = rig(1, { maxBacklogBytes: 1 << 30 });
    const frameBytes = 1990;
    const fits = Math.floor(PER_DESTINATION_BACKLOG_BYTES / entryBytes(frameBytes, 1));
    r.sender.script(0);
    for (let i = 0; i < fits + 5; i++) r.fan.sendTo(sized(`m${i}`, frameBytes), FIRST_PORT + 1, ADDRESS);
    expect(r.fan.backlogSize).toBe(fits);
    expect(r.stats.drops.queue_overflow).toBe(5);
    // Another destination, and a broadcast to the same one, are not held back by it.
    r.fan.sendTo(sized("other", frameBytes), FIRST_PORT + 2, ADDRESS);
    r.line("all");
    expect(r.fan.backlogSize).toBe(fits + 2);
    expect(r.stats.drops.queue_overflow).toBe(5);
    r.fan.drain();
    expect(r.fan.backlogByteSize).toBe(0);
    const got = byRecipient(r.sender.out);
    expect(got.get(FIRST_PORT + 1)).toEqual(Array.from({ length: fits }, (_, i) => sized(`m${i}`, frameBytes)).map((f) => new TextDecoder().decode(f)));
    expect(got.get(FIRST_PORT + 2)).toHaveLength(1);
    // Drained, the destination has its whole allowance again.
    r.sender.script(0);
    for (let i = 0; i < fits; i++) r.fan.sendTo(sized(`n${i}`, frameBytes), FIRST_PORT + 1, ADDRESS);
    expect(r.stats.drops.queue_overflow).toBe(5);
  });

  test("a destination with nothing queued may always queue one datagram, even one larger than its allowance", () => {
    const r = rig(0, { maxBacklogBytes: 1 << 30 });
    r.sender.script(0);
    r.fan.sendTo(new Uint8Array(PER_DESTINATION_BACKLOG_BYTES), FIRST_PORT, ADDRESS);
    r.fan.sendTo(new Uint8Array(1), FIRST_PORT, ADDRESS);
    expect(r.fan.backlogSize).toBe(1);
    expect(r.stats.drops.queue_overflow).toBe(1);
  });

  test("over half the byte cap, single-recipient entries are dropped first; broadcasts queue up to the cap", () => {
    const cap = 64 * 1024;
    const r = rig(10, { maxBacklogBytes: cap });
    r.sender.script(0);
    let lines = 0;
    // Broadcasts past half the cap.
    while (r.fan.backlogByteSize <= cap / 2) r.line(`b${lines++} ${"y".repeat(1000)}`);
    const before = r.fan.backlogSize;
    r.fan.sendTo(sized("note", 50), FIRST_PORT, ADDRESS);
    expect(r.fan.backlogSize).toBe(before);
    expect(r.stats.drops.queue_overflow).toBe(1);
    // Broadcasts still queue until the cap itself.
    const each = lineBytes(`b0 ${"y".repeat(1000)}`, 10);
    while (r.fan.backlogByteSize + each <= cap) r.line(`b${lines++} ${"y".repeat(1000)}`);
    expect(r.stats.drops.queue_overflow).toBe(1);
    r.line(`b${lines} ${"y".repeat(1000)}`);
    expect(r.stats.drops.queue_overflow).toBe(11);
    expect(r.fan.backlogByteSize).toBeLessThanOrEqual(cap);
    // Once drained below half, notices queue again.
    r.fan.drain();
    r.sender.script(0);
    r.fan.sendTo(sized("note", 50), FIRST_PORT, ADDRESS);
    expect(r.fan.backlogSize).toBe(1);
    expect(r.stats.drops.queue_overflow).toBe(11);
  });

  test("below half the cap a notice queues, even when it takes the backlog past half", () => {
    const r = rig(0, { maxBacklogBytes: 4 * entryBytes(1000, 1) });
    r.sender.script(0);
    r.fan.sendTo(sized("a", 1000), FIRST_PORT, ADDRESS);
    r.fan.sendTo(sized("b", 1000), FIRST_PORT + 1, ADDRESS); // at half
    r.fan.sendTo(sized("c", 1000), FIRST_PORT + 2, ADDRESS); // still not over half before it: queued
    r.fan.sendTo(sized("d", 1000), FIRST_PORT + 3, ADDRESS); // over half: dropped
    expect(r.fan.backlogSize).toBe(3);
    expect(r.stats.drops.queue_overflow).toBe(1);
  });

  test("abandonBacklog returns the byte counts to 0, per destination too", () => {
    const r = rig(3, { maxBacklogBytes: 1 << 20 });
    r.sender.script(0);
    r.line("one");
    const fits = Math.floor(PER_DESTINATION_BACKLOG_BYTES / entryBytes(1990, 1));
    for (let i = 0; i < fits; i++) r.fan.sendTo(sized(`m${i}`, 1990), FIRST_PORT, ADDRESS);
    expect(r.stats.drops.queue_overflow).toBe(0);
    r.fan.abandonBacklog();
    expect(r.fan.backlogByteSize).toBe(0);
    expect(r.stats.drops.shutdown).toBe(3 + fits);
    // The destination's allowance is whole again.
    r.sender.script(0);
    for (let i = 0; i < fits; i++) r.fan.sendTo(sized(`n${i}`, 1990), FIRST_PORT, ADDRESS);
    expect(r.fan.backlogSize).toBe(fits);
    expect(r.stats.drops.queue_overflow).toBe(0);
  });

  test("an entry dropped as unsendable while draining gives its bytes back", () => {
    const r = rig(0, { maxBacklogBytes: 1 << 20 });
    r.sender.script(0, ...Array<Step>(MAX_ERRORS_AT_HEAD).fill("throw"));
    r.fan.sendTo(sized("gone", 100), FIRST_PORT, ADDRESS);
    expect(r.fan.backlogByteSize).toBe(entryBytes(100, 1));
    r.fan.drain();
    expect(r.fan.backlogSize).toBe(0);
    expect(r.fan.backlogByteSize).toBe(0);
    expect(r.stats.drops.unsendable).toBe(1);
  });

  test("0 means no byte cap: only datagrams are counted against the queue, as before", () => {
    const r = rig(0, { maxBacklog: 100, maxBacklogBytes: 0 });
    r.sender.script(0);
    for (let i = 0; i < 100; i++) r.fan.sendTo(sized(`m${i}`, 2000), FIRST_PORT, ADDRESS);
    expect(r.fan.backlogSize).toBe(100);
    expect(r.stats.drops.queue_overflow).toBe(0);
  });
});

/**
 * The sendmmsg path's side of the seam, scripted: the same steps as ScriptedSender (n, 0 = EAGAIN, "throw" = -1
 * with an errno), over registry slots instead of packet arrays. What it sends is recorded in the same `out`.
 */
class ScriptedSlots implements SlotSender {
  readonly calls: [number, number][] = [];
  private frame: Uint8Array = new Uint8Array(0);
  private readonly steps: Step[] = [];

  constructor(
    private readonly registry: Registry,
    private readonly out: Triple[],
  ) {}

  script(...steps: Step[]): this {
    this.steps.push(...steps);
    return this;
  }

  use(frame: Uint8Array): void {
    this.frame = frame;
  }

  sendSlots(from: number, to: number): number {
    this.calls.push([from, to]);
    const step = this.steps.shift() ?? "all";
    if (step === "throw") return -1;
    const n = step === "all" ? to - from : step;
    const text = decoder.decode(this.frame);
    const batch = this.registry.chunkClients;
    for (let s = from; s < from + n; s++) {
      const chunk = this.registry.chunks[(s / batch) | 0]!;
      const i = (s % batch) * 3;
      this.out.push({ text, port: chunk[i + 1] as number, address: chunk[i + 2] as string });
    }
    return n;
  }
}

function slotRig(clients: number, sendBatch = 1024, maxBacklog = 1 << 16) {
  const registry = new Registry(sendBatch);
  for (let i = 0; i < clients; i++) registry.add(`c${i}`, ADDRESS, FIRST_PORT + i, 0);
  const sender = new ScriptedSender();
  const slots = new ScriptedSlots(registry, sender.out);
  const stats = new RelayStats();
  const fan = new FanOut(sender, registry, stats, 2048, maxBacklog, 0, slots);
  const prefix = encodePrefix("alice");
  const utf8 = new TextEncoder();
  const r: Rig = { fan, sender, stats, registry, line: (text) => fan.broadcast(fan.frame(prefix, utf8.encode(text))) };
  return { ...r, slots, except: (text: string, who: number) => fan.broadcastExcept(fan.frame(prefix, utf8.encode(text)), registry.all().find((c) => c.port === FIRST_PORT + who)!) };
}

describe("FanOut over the sendmmsg seam (slot ranges)", () => {
  test("one call per --send-batch slots; sendMany is not used", () => {
    const r = slotRig(10, 4);
    r.line("hi");
    expect(r.slots.calls).toEqual([[0, 4], [4, 8], [8, 10]]);
    expect(r.sender.calls).toHaveLength(0);
    everyoneGot(r, 10, ["hi"]);
    expect(r.stats.deliveries).toBe(10);
    expect(counters(r.stats)).toEqual(quiet);
  });

  test("a short count resumes at the first unsent slot (no copy, no window); progress counts it as one send error", () => {
    const r = slotRig(10);
    r.slots.script(3, "all");
    r.line("hi");
    expect(r.slots.calls).toEqual([[0, 10], [3, 10]]);
    everyoneGot(r, 10, ["hi"]);
    expect(counters(r.stats)).toEqual({ ...quiet, sendErrors: 1 });
  });

  test(`-1 at the head is retried; ${MAX_ERRORS_AT_HEAD} in a row drop that one slot as unsendable and the rest still go`, () => {
    const r = slotRig(5);
    r.slots.script(...Array<Step>(MAX_ERRORS_AT_HEAD).fill("throw"), "all");
    r.line("hi");
    expect(r.slots.calls).toEqual([...Array(MAX_ERRORS_AT_HEAD).fill([0, 5]), [1, 5]]);
    expect(byRecipient(r.sender.out).has(FIRST_PORT)).toBe(false);
    expect(r.stats.deliveries).toBe(4);
    expect(counters(r.stats)).toEqual({ ...quiet, sendErrors: MAX_ERRORS_AT_HEAD, unsendable: 1 });
  });

  test("EAGAIN queues the rest to the Bun backlog, which is tried at once through sendMany; later lines queue behind it, in order", () => {
    const r = slotRig(6, 4);
    r.slots.script(2, 0);
    r.sender.script(0); // the immediate try meets the full buffer too: Bun arms its drain callback
    r.line("one"); // slots 0-1 sent; 2-3 and 4-5 queued
    r.line("two"); // queued whole behind the backlog, through the packet arrays
    expect(r.slots.calls).toEqual([[0, 4], [2, 4]]);
    expect(r.fan.backlogSize).toBe(4 + 6);
    r.fan.drain();
    expect(r.fan.backlogSize).toBe(0);
    everyoneGot(r, 6, ["one", "two"]);
    expect(counters(r.stats)).toEqual({ ...quiet, backpressureEvents: 1 });
    expect(r.stats.deliveries).toBe(12);
    r.line("three"); // the backlog is empty: back on the sendmmsg path
    expect(r.slots.calls.at(-1)).toEqual([4, 6]);
  });

  test("a queue that cannot hold the rest drops it as queue_overflow and counts it", () => {
    const r = slotRig(6, 4, 3);
    r.slots.script(1, 0);
    r.line("one");
    expect(r.stats.drops.queue_overflow + r.stats.deliveries + r.fan.backlogSize).toBe(6);
    r.fan.drain();
    expect(r.stats.drops.queue_overflow + r.stats.deliveries).toBe(6);
  });

  test("--no-echo: everyone but the sender, the sender's slot parked last with its address", () => {
    const r = slotRig(9, 4);
    r.except("hi", 2);
    expect(r.slots.calls).toEqual([[0, 4], [4, 8]]);
    const got = byRecipient(r.sender.out);
    expect([...got.keys()].sort()).toEqual(ports(0, 9).filter((p) => p !== FIRST_PORT + 2));
    expect(r.stats.deliveries).toBe(8);
  });
});

// Property-based tests (fast-check): random bytes, sizes, encodings and command shapes thrown at the pure protocol layer.

import { isUtf8 } from "node:buffer";
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { parseCommand, splitRecipient } from "../src/protocol/commands.ts";
import { type Bucket, prefixKey, takeToken, WindowCounter } from "../src/limits.ts";
import { cleanName, nameLength, nameProblem } from "../src/protocol/names.ts";
import { encode, notice } from "../src/protocol/wire.ts";
import { checkText, lineEnd, TextCheck } from "../src/protocol/text.ts";
import { AddressVerifier } from "../src/defence/verify.ts";
import { CODE_ALPHABET, challengeReply, formatAnswer, parseAnswer } from "../src/protocol/answer.ts";

// Bounded: the whole file runs in a few seconds; fast-check's seed is printed on failure for replay.
const RUNS = { numRuns: 300 };

/** Bytes biased towards the interesting ones: controls, CR/LF, C1 lead bytes, slashes, high bytes. */
const hostileByte = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x00, 0x07, 0x09, 0x0a, 0x0d, 0x1b, 0x20, 0x2f, 0x7f, 0xc2, 0x9b, 0xff));
const hostileBytes = fc.array(hostileByte, { maxLength: 300 }).map((a) => Uint8Array.from(a));
const unicodeSpace = fc.constantFrom(" ", "\t", "\u00a0", "\u1680", "\u2000", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\ufeff", "\u200b", "\u180e");
const anyText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 80 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ unit: unicodeSpace, maxLength: 12 }),
);

describe("text rules", () => {
  test("an accepted line holds no control byte but tab, and its line end is only CR/LF", () => {
    fc.assert(
      fc.property(hostileBytes, (bytes) => {
        const end = lineEnd(bytes);
        expect(end).toBeLessThanOrEqual(bytes.length);
        for (let i = end; i < bytes.length; i++) expect(bytes[i] === 0x0a || bytes[i] === 0x0d).toBe(true);
        if (checkText(bytes, end) !== TextCheck.ok || !isUtf8(bytes)) return;
        const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, end));
        expect(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/.test(text)).toBe(false);
        // Not blank: something is left once white space (Unicode's too, as trim() sees it) is taken away.
        expect(text.trim()).not.toBe("");
      }),
      RUNS,
    );
  });

  test("the byte scan agrees with a scan of the decoded text", () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const bytes = encode(text);
        const check = checkText(bytes, bytes.length);
        const hasControl = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/.test(text);
        expect(check === TextCheck.control).toBe(hasControl);
        if (!hasControl) expect(check === TextCheck.blank).toBe(text.trim() === "");
      }),
      RUNS,
    );
  });
});

describe("commands and names", () => {
  test("parseCommand takes any text after a slash without throwing, and knows every result", () => {
    const kinds = new Set(["quit", "nick", "who", "msg", "me", "ping", "help", "literal", "usage", "unknown"]);
    const shapes = fc.oneof(anyText, fc.tuple(fc.constantFrom("/nick", "/msg", "/me", "/who", "/QUIT", "//", "/"), anyText).map(([c, a]) => `${c} ${a}`));
    fc.assert(
      fc.property(shapes, (text) => {
        expect(kinds.has(parseCommand(`/${text}`).kind)).toBe(true);
      }),
      RUNS,
    );
  });

  test("splitRecipient only reports names it was told exist", () => {
    fc.assert(
      fc.property(anyText, fc.array(anyText, { maxLength: 4 }), (args, names) => {
        const r = splitRecipient(args, (n) => names.includes(n), 64);
        if (r.found) expect(names).toContain(r.name);
      }),
      RUNS,
    );
  });

  test("an accepted name is trimmed, short enough and free of control and invisible characters", () => {
    fc.assert(
      fc.property(anyText, fc.integer({ min: 1, max: 64 }), (raw, max) => {
        const name = cleanName(raw);
        if (nameProblem(name, max) !== undefined) return;
        expect(name).toBe(name.trim());
        expect(nameLength(name)).toBeLessThanOrEqual(max);
        expect(/[\p{Cc}\u200B\u202E\uFEFF]/u.test(name)).toBe(false);
        expect(name.startsWith("/")).toBe(false);
      }),
      RUNS,
    );
  });
});

describe("address validation", () => {
  const code = fc.array(fc.constantFrom(...CODE_ALPHABET), { minLength: 8, maxLength: 8 }).map((c) => `${c.slice(0, 4).join("")}-${c.slice(4).join("")}`);
  const name = anyText.map(cleanName).filter((n) => n !== "");

  test("challenge → reply → answer gives back the code and name", () => {
    fc.assert(
      fc.property(code, name, (c, n) => {
        expect(parseAnswer(challengeReply(notice.challenge(formatAnswer(c, n)))!)).toEqual({ code: c, name: n });
      }),
      RUNS,
    );
  });

  test("parseAnswer and challengeReply take any text without throwing", () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const answer = parseAnswer(text);
        if (answer !== undefined) expect(answer.code).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}$/);
        challengeReply(text);
      }),
      RUNS,
    );
  });

  test("a code issued for one address and port never checks for another", () => {
    const v = new AddressVerifier();
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 1, max: 65534 }), name, (ip, port, delta, n) => {
        const c = v.code(ip, port, n);
        expect(v.check(ip, port, n, c)).toBe(true);
        // 40 bits: a chance collision would take ~10^12 runs.
        expect(v.check(ip, ((port - 1 + delta) % 65535) + 1, n, c)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});

describe("limits", () => {
  test("prefixKey of IPv4 is its /24, whatever the last octet", () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 0, max: 255 }), (ip, last) => {
        const head = ip.slice(0, ip.lastIndexOf("."));
        expect(prefixKey(ip)).toBe(head);
        expect(prefixKey(`${head}.${last}`)).toBe(head);
        expect(prefixKey(`::ffff:${ip}`)).toBe(head);
      }),
      RUNS,
    );
  });

  test("prefixKey of IPv6 depends on the first 64 bits only, in any spelling", () => {
    const hextet = fc.integer({ min: 0, max: 0xffff });
    fc.assert(
      fc.property(fc.array(hextet, { minLength: 8, maxLength: 8 }), fc.array(hextet, { minLength: 4, maxLength: 4 }), (groups, host) => {
        const full = groups.map((g) => g.toString(16)).join(":");
        const padded = groups.map((g) => g.toString(16).padStart(4, "0").toUpperCase()).join(":");
        const other = [...groups.slice(0, 4), ...host].map((g) => g.toString(16)).join(":");
        const zeroHost = `${groups.slice(0, 4).map((g) => g.toString(16)).join(":")}::`;
        const key = prefixKey(full);
        expect(prefixKey(padded)).toBe(key);
        expect(prefixKey(other)).toBe(key);
        expect(prefixKey(zeroHost)).toBe(key);
      }),
      RUNS,
    );
    fc.assert(fc.property(fc.ipV6(), (ip) => void prefixKey(ip)), RUNS);
  });

  test("a token bucket never allows more than burst + rate × time", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 50 }), fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 200 }), (rate, burst, gaps) => {
        const b: Bucket = { tokens: Number.POSITIVE_INFINITY, tokensAtMs: 0, slowNoticeMs: 0 };
        let now = 0;
        let allowed = 0;
        for (const gap of gaps) {
          now += gap;
          if (takeToken(b, now, rate / 1000, burst)) allowed++;
        }
        expect(allowed).toBeLessThanOrEqual(burst + (rate * now) / 1000 + 1e-9);
      }),
      RUNS,
    );
  });

  test("a window counter stays within its limits and its capacity", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 50 })), { maxLength: 300 }), (events) => {
        const c = new WindowCounter(3, 10, 5);
        let now = 0;
        let total = 0;
        const perKey = new Map<number, number>();
        for (const [key, gap] of events) {
          now += gap;
          if (c.allow(String(key), now)) {
            total++;
            perKey.set(key, (perKey.get(key) ?? 0) + 1);
          }
          expect(c.size).toBeLessThanOrEqual(5);
        }
        // Windows last a second each, so [0, now] holds at most floor(now / 1000) + 1 of them.
        const windows = Math.floor(now / 1000) + 1;
        for (const n of perKey.values()) expect(n).toBeLessThanOrEqual(3 * windows);
        expect(total).toBeLessThanOrEqual(10 * windows);
      }),
      RUNS,
    );
  });
});

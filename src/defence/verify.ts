// Address validation's join code: a truncated HMAC over address, port, name and time window, issued and checked without storing anything.

import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { CODE_ALPHABET, CODE_CHARS, formatCode } from "../protocol/answer.ts";
import { nameKey } from "../protocol/names.ts";

const SECRET_BYTES = 32;
/** 5 MAC bytes = 40 bits = 8 base32 characters. */
const MAC_BYTES = (CODE_CHARS * 5) / 8;

/**
 * Issues and checks join codes without storing anything per address. The secret is replaced every window
 * (`rotate`, on the relay's timer); a code is accepted under the current and the previous secret, so it
 * lives between one and two windows. The window is in the key, not in the message.
 */
export class AddressVerifier {
  private current: Uint8Array;
  private previous: Uint8Array;

  constructor(private readonly random: (bytes: number) => Uint8Array = randomBytes) {
    this.current = random(SECRET_BYTES);
    this.previous = random(SECRET_BYTES);
  }

  /** Starts a new window: codes issued two windows ago stop working. */
  rotate(): void {
    this.previous = this.current;
    this.current = this.random(SECRET_BYTES);
  }

  /** The code for `address`:`port` joining as `name`, in this window. */
  code(address: string, port: number, name: string): string {
    return format(mac(this.current, address, port, name));
  }

  /** Whether `code` (canonical, as parseAnswer gives it) is valid for this address, port and name. */
  check(address: string, port: number, name: string, code: string): boolean {
    const given = Buffer.from(code);
    return same(given, this.code(address, port, name)) || same(given, format(mac(this.previous, address, port, name)));
  }
}

function mac(secret: Uint8Array, address: string, port: number, name: string): Uint8Array {
  // Newlines cannot occur in an address, a port or a valid name: the fields cannot run together.
  return createHmac("sha256", secret).update(`${address}\n${port}\n${nameKey(name)}`).digest().subarray(0, MAC_BYTES);
}

function format(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = "";
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += CODE_ALPHABET[(value >>> bits) & 31];
    }
    value &= (1 << bits) - 1;
  }
  return formatCode(out);
}

function same(given: Buffer, expected: string): boolean {
  const want = Buffer.from(expected);
  return given.length === want.length && timingSafeEqual(given, want);
}

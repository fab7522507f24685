// The load generator's message text: sender, sequence number and timestamps in fixed-width base-64 digits. Pure: no sockets.
//
// Layout of the text a sender hands the relay (ASCII, so always valid UTF-8):
//   "%" sender(3) seq(5) scheduledUs(7) lagUs(4) then "x" padding up to the payload size.
// The relay prefixes `<name> ~ `, which has a different length for every sender. Because the payload size is
// fixed for a run, the receiver finds the fields at `datagram.length - payloadBytes` without scanning for the
// separator or decoding a string.

/** First byte of every load message text. */
export const MAGIC = 0x25; // "%"
/** Fill byte after the fields. */
const PAD = 0x78; // "x"
/** The byte right before the text in a relayed line: the last byte of " ~ ". */
const SEPARATOR_END = 0x20;

const SENDER_DIGITS = 3;
const SEQ_DIGITS = 5;
const SCHEDULED_DIGITS = 7;
const LAG_DIGITS = 4;

const SENDER_AT = 1;
const SEQ_AT = SENDER_AT + SENDER_DIGITS;
const SCHEDULED_AT = SEQ_AT + SEQ_DIGITS;
const LAG_AT = SCHEDULED_AT + SCHEDULED_DIGITS;

/** Bytes the fields take: the smallest payload a run can use. */
export const HEADER_BYTES = LAG_AT + LAG_DIGITS;
/** Sender ids are below this (64³). */
export const MAX_SENDERS = 64 ** SENDER_DIGITS;
/** Sequence numbers are below this (64⁵ ≈ 1.07e9 per sender). */
export const MAX_SEQ = 64 ** SEQ_DIGITS;
/** Scheduled times (µs since the run's epoch) are below this: about 51 days. */
export const MAX_SCHEDULED_US = 64 ** SCHEDULED_DIGITS;
/** Send lag is clamped to this (about 16.8 s); the corrected latency stays exact, only the raw one saturates. */
export const MAX_LAG_US = 64 ** LAG_DIGITS - 1;

const ALPHABET = new TextEncoder().encode("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_");
/** Byte → digit value, or 64 (a bit no digit has) for a byte that is not a digit. */
const DIGIT = new Uint8Array(256).fill(64);
for (let i = 0; i < 64; i++) DIGIT[ALPHABET[i]!] = i;

/** A message's fields, filled in place by `readMessage` so the receive path allocates nothing. */
export interface MessageFields {
  sender: number;
  seq: number;
  scheduledUs: number;
  lagUs: number;
}

/** A payload buffer of `payloadBytes`, padded, with the magic byte in place. Fields are written per send. */
export function newPayload(payloadBytes: number): Uint8Array {
  const buf = new Uint8Array(payloadBytes).fill(PAD);
  buf[0] = MAGIC;
  return buf;
}

/** Writes the fields of one message into a buffer made by `newPayload`. */
// hot path: once per send
export function writeMessage(buf: Uint8Array, sender: number, seq: number, scheduledUs: number, lagUs: number): void {
  writeDigits(buf, SENDER_AT, SENDER_DIGITS, sender);
  writeDigits(buf, SEQ_AT, SEQ_DIGITS, seq);
  writeDigits(buf, SCHEDULED_AT, SCHEDULED_DIGITS, scheduledUs);
  writeDigits(buf, LAG_AT, LAG_DIGITS, lagUs > MAX_LAG_US ? MAX_LAG_US : lagUs);
}

/**
 * Reads a relayed line `<name> ~ <text>` whose text is `payloadBytes` long. Returns false when the datagram
 * is anything else (a notice, a foreign chat line, a probe), leaving `out` undefined in part.
 */
// hot path: once per received datagram
export function readMessage(datagram: Uint8Array, payloadBytes: number, out: MessageFields): boolean {
  const at = datagram.length - payloadBytes;
  if (at < 1 || datagram[at] !== MAGIC || datagram[at - 1] !== SEPARATOR_END) return false;
  const d = DIGIT;
  let bad = 0;
  let v = 0;
  let c = 0;
  let i = at + SENDER_AT;
  for (const end = i + SENDER_DIGITS; i < end; i++) {
    c = d[datagram[i]!]!;
    bad |= c;
    v = v * 64 + c;
  }
  out.sender = v;
  v = 0;
  for (const end = i + SEQ_DIGITS; i < end; i++) {
    c = d[datagram[i]!]!;
    bad |= c;
    v = v * 64 + c;
  }
  out.seq = v;
  v = 0;
  for (const end = i + SCHEDULED_DIGITS; i < end; i++) {
    c = d[datagram[i]!]!;
    bad |= c;
    v = v * 64 + c;
  }
  out.scheduledUs = v;
  v = 0;
  for (const end = i + LAG_DIGITS; i < end; i++) {
    c = d[datagram[i]!]!;
    bad |= c;
    v = v * 64 + c;
  }
  out.lagUs = v;
  return (bad & 64) === 0;
}

// Fixed width, most significant digit first. Values can exceed 32 bits (scheduled µs), so no bit shifts.
function writeDigits(buf: Uint8Array, at: number, width: number, value: number): void {
  let v = value;
  for (let i = at + width - 1; i >= at; i--) {
    const r = v % 64;
    buf[i] = ALPHABET[r]!;
    v = (v - r) / 64;
  }
}

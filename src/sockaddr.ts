// Socket addresses as the kernel takes them: Bun's address strings encoded once, at join time, as sockaddr_in or sockaddr_in6.

/** Linux's address family numbers. */
export const AF_INET = 2;
export const AF_INET6 = 10;

/** sizeof(struct sockaddr_in) and sizeof(struct sockaddr_in6) on Linux. */
export const SOCKADDR_IN_BYTES = 16;
export const SOCKADDR_IN6_BYTES = 28;

/**
 * Writes `address`:`port` into `into[at, at + 28)` as the socket of `family` needs it to send there, and returns
 * the length to pass as msg_namelen; 0 when the address cannot be read (nothing useful written).
 * An IPv4 address on an AF_INET6 socket (bound to ::) becomes the IPv4-mapped ::ffff:a.b.c.d; an IPv4-mapped
 * one on an AF_INET socket becomes plain IPv4. Cold path: once per join.
 */
export function encodeSockaddr(family: number, address: string, port: number, into: Uint8Array, at: number): number {
  into.fill(0, at, at + SOCKADDR_IN6_BYTES);
  const v4 = parseIPv4(address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address);
  if (family === AF_INET) {
    if (v4 === undefined) return 0;
    into[at] = AF_INET; // sa_family is host order: little-endian on the machines this runs on (checked at start-up)
    into[at + 2] = port >>> 8;
    into[at + 3] = port & 0xff;
    into.set(v4, at + 4);
    return SOCKADDR_IN_BYTES;
  }
  if (family !== AF_INET6) return 0;
  let v6: Uint8Array | undefined;
  let scope = 0;
  if (v4 !== undefined) {
    v6 = new Uint8Array(16);
    v6[10] = 0xff;
    v6[11] = 0xff;
    v6.set(v4, 12);
  } else {
    const zone = address.indexOf("%");
    // A numeric zone is the scope id; a named one (fe80::1%eth0) would need if_nametoindex, and Bun does not report one.
    if (zone >= 0) scope = /^\d+$/.test(address.slice(zone + 1)) ? Number(address.slice(zone + 1)) >>> 0 : 0;
    v6 = parseIPv6(zone >= 0 ? address.slice(0, zone) : address);
  }
  if (v6 === undefined) return 0;
  into[at] = AF_INET6;
  into[at + 2] = port >>> 8;
  into[at + 3] = port & 0xff;
  // sin6_flowinfo (4..8) stays 0
  into.set(v6, at + 8);
  new DataView(into.buffer, into.byteOffset).setUint32(at + 24, scope, true);
  return SOCKADDR_IN6_BYTES;
}

/** Dotted-quad IPv4 to its 4 bytes, or undefined. */
export function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    out[i] = Number(p);
  }
  return out;
}

/** IPv6 text (with `::` and an optional dotted IPv4 tail) to its 16 bytes, or undefined. */
export function parseIPv6(text: string): Uint8Array | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const head = halves[0] === "" ? [] : halves[0]!.split(":");
  const tail = halves.length === 2 ? (halves[1] === "" ? [] : halves[1]!.split(":")) : [];
  const words: number[] = [];
  const read = (groups: string[], into: number[]): boolean => {
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (i === groups.length - 1 && g.includes(".")) {
        const v4 = parseIPv4(g);
        if (v4 === undefined) return false;
        into.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) into.push(parseInt(g, 16));
      else return false;
    }
    return true;
  };
  const back: number[] = [];
  if (!read(head, words) || !read(tail, back)) return undefined;
  if (halves.length === 2 ? words.length + back.length > 7 : words.length !== 8) return undefined;
  while (words.length + back.length < 8) words.push(0);
  words.push(...back);
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = words[i]! >>> 8;
    out[2 * i + 1] = words[i]! & 0xff;
  }
  return out;
}

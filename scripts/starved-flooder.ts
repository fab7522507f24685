// The flood for scripts/starved.ts: SOCKETS registered sockets that never read, sending lines to a relay at RATE a second.
// usage: bun scripts/starved-flooder.ts PORT SOCKETS RATE DURATION_MS
// The sockets are libc's, which Bun never polls: the kernel drops what the relay sends them, so this process spends
// itself on sending. Prints "flooding" when the flood starts and {"sent": N} when it ends. Linux only, loopback only.

import { dlopen, FFIType, ptr } from "bun:ffi";
import { libc } from "../src/libc.ts";
import { AF_INET, encodeSockaddr, SOCKADDR_IN_BYTES } from "../src/sockaddr.ts";

const [port, sockets, rate, durationMs] = process.argv.slice(2).map(Number) as [number, number, number, number];
const SOCK_DGRAM = 2;
const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
/** Time the relay gets to register every socket before the flood starts. */
const JOIN_MS = 300;

const { symbols: c } = dlopen("libc.so.6", {
  socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  sendto: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i64 },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
});
const to = new Uint8Array(28);
encodeSockaddr(AF_INET, "127.0.0.1", port, to, 0);
const toPtr = ptr(to);
const small = new Int32Array([4096]);

const fds: number[] = [];
for (let i = 0; i < sockets; i++) {
  const fd = c.socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) throw new Error("socket() failed");
  libc()?.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, small);
  fds.push(fd);
  const name = Buffer.from(`f${i}`);
  c.sendto(fd, ptr(name), name.length, 0, toPtr, SOCKADDR_IN_BYTES);
}
Bun.sleepSync(JOIN_MS);
process.stdout.write("flooding\n");

const line = Buffer.from("x".repeat(40));
const linePtr = ptr(line);
const start = performance.now();
let sent = 0;
for (let now = start; now - start < durationMs; now = performance.now()) {
  const due = Math.floor(((now - start) * rate) / 1000);
  for (; sent < due; sent++) c.sendto(fds[sent % sockets]!, linePtr, line.length, 0, toPtr, SOCKADDR_IN_BYTES);
  Bun.sleepSync(0.5);
}
for (const fd of fds) c.close(fd);
process.stdout.write(`${JSON.stringify({ sent })}\n`);

// Kernel socket buffer sizes for a Bun UDP socket, which Bun.udpSocket has no option for: setsockopt through bun:ffi.

import { dlopen, FFIType, ptr } from "bun:ffi";

/** What was asked for and what the kernel granted (Linux doubles the request, capped by net.core.[rw]mem_max). */
export interface BufferSizes {
  readonly recvBytes: number;
  readonly sendBytes: number;
}

const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;

type Libc = {
  setsockopt(fd: number, level: number, name: number, value: NodeJS.TypedArray, len: number): number;
  getsockopt(fd: number, level: number, name: number, value: NodeJS.TypedArray, len: NodeJS.TypedArray): number;
};

let libc: Libc | null | undefined;
function load(): Libc | null {
  if (libc !== undefined) return libc;
  libc = null;
  if (process.platform !== "linux") return libc; // option numbers below are Linux's
  try {
    const lib = dlopen("libc.so.6", {
      setsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
      getsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    });
    libc = {
      setsockopt: (fd, level, name, value, len) => lib.symbols.setsockopt(fd, level, name, ptr(value), len),
      getsockopt: (fd, level, name, value, len) => lib.symbols.getsockopt(fd, level, name, ptr(value), ptr(len)),
    };
  } catch {
    libc = null;
  }
  return libc;
}

/** The socket's file descriptor: Bun exposes it as an undocumented `fd` property. */
function fdOf(socket: object): number | undefined {
  const fd = (socket as { fd?: unknown }).fd;
  return typeof fd === "number" && fd >= 0 ? fd : undefined;
}

function get(lib: Libc, fd: number, name: number): number {
  const value = new Int32Array(1);
  const len = new Uint32Array([4]);
  return lib.getsockopt(fd, SOL_SOCKET, name, value, len) === 0 ? value[0]! : -1;
}

/**
 * Asks for `recvBytes`/`sendBytes` (0 = leave as is) and returns what the kernel granted, or undefined where
 * it cannot be done here (not Linux, no fd, no libc): the relay then runs with the OS defaults.
 */
export function setBufferSizes(socket: object, recvBytes: number, sendBytes: number): BufferSizes | undefined {
  const lib = load();
  const fd = fdOf(socket);
  if (lib === null || fd === undefined) return undefined;
  for (const [name, bytes] of [[SO_RCVBUF, recvBytes], [SO_SNDBUF, sendBytes]] as const) {
    if (bytes > 0) lib.setsockopt(fd, SOL_SOCKET, name, new Int32Array([bytes]), 4);
  }
  return { recvBytes: get(lib, fd, SO_RCVBUF), sendBytes: get(lib, fd, SO_SNDBUF) };
}

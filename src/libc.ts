// The few libc calls Bun has no API for (socket options, the open-file limit, sendmmsg, the send-only socket), loaded
// once through bun:ffi; Linux only.

import { dlopen, FFIType, ptr, read } from "bun:ffi";

/** The calls, typed; `null` where libc cannot be loaded here (not Linux, or no libc.so.6). */
export interface Libc {
  /** `value` is passed by address with its byteLength: an int option, or a struct (a sock_fprog). */
  setsockopt(fd: number, level: number, name: number, value: Int32Array | Uint8Array): boolean;
  /** The option's int value, or undefined when the kernel refuses the option. */
  getsockopt(fd: number, level: number, name: number): number | undefined;
  getrlimit(resource: number, into: BigUint64Array): boolean;
  setrlimit(resource: number, limits: BigUint64Array): boolean;
  /**
   * sendmmsg(2) itself, no wrapper: `hdrs` is a raw address (an mmsghdr array the caller keeps alive). Returns
   * the count sent, or -1 with the reason in `errno()`. Hot path: the caller owns every pointer it passes.
   */
  readonly sendmmsg: (fd: number, hdrs: number, count: number, flags: number) => number;
  /** This thread's errno, read through __errno_location: only meaningful right after a call that returned -1. */
  errno(): number;
  /** socket(2): the new fd, or -1. */
  socket(family: number, type: number, protocol: number): number;
  /** bind(2) to the sockaddr in `address` (`length` bytes of it). */
  bind(fd: number, address: Uint8Array, length: number): boolean;
  /** getsockname(2) into `into` (at least 28 bytes): the length written, or -1. */
  getsockname(fd: number, into: Uint8Array): number;
  /** recv(2) into `into`: the byte count, or -1 (MSG_DONTWAIT on an empty queue: errno EAGAIN). */
  recv(fd: number, into: Uint8Array, flags: number): number;
  close(fd: number): boolean;
}

let loaded: Libc | null | undefined;

/** libc, opened on first use. Option and resource numbers used with it are Linux's. */
export function libc(): Libc | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (process.platform !== "linux") return loaded;
  try {
    const { symbols: c } = dlopen("libc.so.6", {
      setsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
      getsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
      getrlimit: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
      setrlimit: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
      sendmmsg: { args: [FFIType.i32, FFIType.ptr, FFIType.u32, FFIType.i32], returns: FFIType.i32 },
      __errno_location: { args: [], returns: FFIType.ptr },
      socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
      bind: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
      getsockname: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
      recv: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64 },
      close: { args: [FFIType.i32], returns: FFIType.i32 },
    });
    const value = new Int32Array(1);
    const len = new Uint32Array(1);
    loaded = {
      setsockopt: (fd, level, name, v) => c.setsockopt(fd, level, name, ptr(v), v.byteLength) === 0,
      getsockopt(fd, level, name) {
        len[0] = 4;
        return c.getsockopt(fd, level, name, ptr(value), ptr(len)) === 0 ? value[0] : undefined;
      },
      getrlimit: (resource, into) => c.getrlimit(resource, ptr(into)) === 0,
      setrlimit: (resource, limits) => c.setrlimit(resource, ptr(limits)) === 0,
      sendmmsg: c.sendmmsg as (fd: number, hdrs: number, count: number, flags: number) => number,
      errno: () => read.i32(c.__errno_location()!, 0),
      socket: (family, type, protocol) => c.socket(family, type, protocol),
      bind: (fd, address, length) => c.bind(fd, ptr(address), length) === 0,
      getsockname(fd, into) {
        len[0] = into.byteLength;
        return c.getsockname(fd, ptr(into), ptr(len)) === 0 ? len[0] : -1;
      },
      recv: (fd, into, flags) => Number(c.recv(fd, ptr(into), into.byteLength, flags)),
      close: (fd) => c.close(fd) === 0,
    };
  } catch {
    loaded = null;
  }
  return loaded;
}

/** A socket's file descriptor: Bun exposes it as an undocumented `fd` property. */
export function fdOf(socket: object): number | undefined {
  const fd = (socket as { fd?: unknown }).fd;
  return typeof fd === "number" && fd >= 0 ? fd : undefined;
}

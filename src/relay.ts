// The relay: binds the UDP socket and wires datagrams through the registry to fan-out. The only module here that owns a socket.

import { type AdmissionFactory, Gate } from "./admission.ts";
import { bindError, reusePortFlags } from "./bind.ts";
import { Chat } from "./chat.ts";
import { perSourceLimits, type RelayConfig, verifies } from "./config.ts";
import { FanOut } from "./fanout.ts";
import { takeToken, WindowCounter } from "./limits.ts";
import { Lines } from "./lines.ts";
import type { Membership } from "./membership.ts";
import { Periodic } from "./periodic.ts";
import type { LinePrinter } from "./printer.ts";
import { formatEndpoint } from "./protocol/endpoint.ts";
import { encode, notice } from "./protocol/wire.ts";
import { type Client, Registry } from "./registry.ts";
import { chooseSendPath } from "./sendmmsg.ts";
import { type LineSink, teeLines } from "./sink.ts";
import { type SocketSetup, setUpSocket } from "./sockopt.ts";
import type { RestoredBinding } from "./state-file.ts";
import { type FanoutTimes, RelayStats } from "./stats.ts";

/** A client over its rate hears "Slow down." at most this often. */
const SLOW_NOTICE_INTERVAL_MS = 1000;

/** A running relay. */
export interface Relay {
  readonly host: string;
  /** The bound port (the one the OS chose, with port 0). */
  readonly port: number;
  readonly stats: RelayStats;
  readonly registry: Registry;
  /** Commands, names and the idle sweep: the cold path. */
  readonly chat: Chat;
  /** Periodic work, run by a timer and from the receive path while timers starve; more jobs may join it (the state file). */
  readonly periodic: Periodic;
  /** Datagrams waiting for the socket buffer to drain. */
  readonly backlog: number;
  /** How long broadcasts take (one in FANOUT_TIMED_EVERY timed). */
  readonly fanoutTimes: FanoutTimes;
  /** The socket is open: not yet closed or shut down. */
  readonly open: boolean;
  /** `host:port`, with IPv6 hosts in brackets. */
  readonly endpoint: string;
  /** How fan-out sends (`--send-path`, resolved): libc sendmmsg or Bun's sendMany. */
  readonly sendPath: "sendmmsg" | "bun";
  /** Kernel buffer sizes granted and whether ICMP errors are off; undefined where nothing can be set (OS defaults apply). */
  readonly sockopts: SocketSetup | undefined;
  /**
   * Tells every client the server is shutting down (unless `announce` is false: another socket of a worker
   * group says it), waits up to `graceMs` for queued datagrams to leave (what is still queued then is
   * counted as dropped), and closes the socket.
   */
  shutdown(graceMs?: number, announce?: boolean): Promise<void>;
  /** Closes the socket at once, telling nobody. */
  close(): void;
  /**
   * Fans a line said elsewhere (another mesh node) out to this relay's clients and prints it. It goes to no
   * line sink: a line from the bus is never published again.
   */
  deliverRemote(frame: Uint8Array): void;
}

/** What a relay that is part of something larger (a worker group, a mesh) is started with. None of it is needed alone. */
export interface RelayOptions {
  /** Join a SO_REUSEPORT group on the port (worker threads); see `reusePortFlags`. */
  readonly reusePort?: boolean;
  /** Told of joins, leaves and renames; asked about names held elsewhere. */
  readonly membership?: Membership;
  /** Also gets every line said to everyone (the bus publisher). */
  readonly lines?: LineSink;
  /**
   * How a new address is admitted when addresses are verified (`verifies` in config.ts decides when; then it is
   * required): `validateAddresses` from defence/validation.ts. Otherwise strangers go from the unknown-source
   * budget straight to the chat.
   */
  readonly admission?: AdmissionFactory;
  /** Operator log (stderr): failed sends are reported here, at most once per `logEveryMs`. */
  readonly log?: (line: string) => void;
  /** Default SEND_FAILURE_LOG_MS. */
  readonly logEveryMs?: number;
  /** Bindings from a state file (--state): remembered before the first datagram is read, as if they had timed out. */
  readonly restore?: readonly RestoredBinding[];
  /**
   * Called once per OBSERVE_EVERY datagrams received (a mask test on the hot path). While datagrams arrive faster
   * than they are handled, Bun's receive loop runs back to back and no timer fires; this still does (the admin
   * endpoint's counters are published from it, and signals are noticed). It may shut the relay down.
   */
  readonly observe?: () => void;
}

/** How often, in datagrams received, RelayOptions.observe is called: a power of two. */
export const OBSERVE_EVERY = 64;

/** Failed sends are logged at most this often: a vanished client fails a send per line, which must not flood the log. */
export const SEND_FAILURE_LOG_MS = 10_000;

/** Binds and starts relaying. Throws BindError when the address cannot be bound. */
export async function startRelay(config: RelayConfig, printer?: LinePrinter, options: RelayOptions = {}): Promise<Relay> {
  const verifying = verifies(config.verifyAddress, config.host);
  if (verifying && options.admission === undefined) {
    // A programming error, not an operator's: every entry point that can verify passes the defence in.
    throw new Error(`startRelay: addresses are verified on ${config.host} (--verify-address ${config.verifyAddress}) but no admission was given`);
  }
  const stats = new RelayStats();
  const registry = new Registry(config.sendBatchClients);
  const maxDatagram = config.maxDatagramBytes;
  const console_ = config.quiet ? undefined : printer;
  // Without a bus this is the console itself (or undefined): the hot path is what it was.
  const sink = teeLines(console_, options.lines);
  const slowNotice = encode(notice.slowDown);
  const perSource = perSourceLimits(config);
  const tokensPerMs = config.rateLimitPerSecond / 1000;
  const burst = config.burst;
  // A coarse clock for last-seen times: reading the real one per datagram costs more than it tells.
  // It ticks at most every 250 ms, and finer for short idle timeouts so they stay accurate to ~1/8.
  const idleMs = config.idleTimeoutMs;
  const tickMs = idleMs === 0 ? 250 : Math.min(250, Math.max(5, idleMs / 8));
  let nowMs = performance.now();
  const clock = setInterval(() => (nowMs = performance.now()), tickMs);
  clock.unref();

  const periodic = new Periodic();
  let closed = false;

  let fan: FanOut | undefined;
  let socket: Bun.udp.Socket<"buffer">;
  try {
    socket = await Bun.udpSocket({
      ...(options.reusePort === true ? reusePortFlags : undefined),
      hostname: config.host,
      port: config.port,
      socket: {
        data: (_s, payload, port, address, flags) => onDatagram(payload, port, address, flags.truncated),
        drain: () => fan?.drain(),
        // With ICMP errors off (sockopt.ts) this is rare; Bun gives no detail, and fan-out resumes past send errors.
        error: () => {},
      },
    });
  } catch (err) {
    clearInterval(clock);
    periodic.close();
    throw bindError(err, config.host, config.port);
  }
  const sockopts = setUpSocket(socket, config.recvBufferBytes, config.sendBufferBytes);
  let sendPath: Awaited<ReturnType<typeof chooseSendPath>>;
  try {
    // Workers share the port's SO_REUSEPORT group: a send-only socket's steering would take the others' traffic.
    sendPath = await chooseSendPath(config.sendPath, socket, { sendOnlySocket: options.reusePort !== true, sendBufferBytes: config.sendBufferBytes });
  } catch (err) {
    clearInterval(clock);
    periodic.close();
    socket.close();
    throw err;
  }
  // The sender's buffers live as long as the socket: the registry and FanOut hold it until close.
  if (sendPath.sender !== undefined) registry.attach(sendPath.sender);
  options.log?.(`[SERVER] Send path: ${sendPath.name === "bun" ? "bun sendMany" : "sendmmsg"} (${sendPath.why})`);
  const fanOut = new FanOut(socket, registry, stats, maxDatagram, config.sendQueuePackets, config.sendQueueBytes, sendPath.sender);
  fan = fanOut;

  const joins = new WindowCounter(perSource ? config.joinsPerIpPerSecond : 0, config.joinsPerSecond);
  const lines = new Lines(config, registry, fanOut, stats, sink);
  const chat = new Chat({ config, registry, fanOut, stats, lines, membership: options.membership, joins, periodic });
  if (options.restore !== undefined) chat.restore(options.restore, nowMs);
  const gate = new Gate(config, stats, verifying && options.admission !== undefined ? options.admission({ config, chat, fanOut, stats }) : chat);
  // The sweep is periodic, never per datagram: a few times per timeout, at most every 5 s.
  if (idleMs > 0) periodic.every(Math.min(5000, Math.max(5, idleMs / 4)), (now) => chat.sweep((nowMs = now)));
  const observe = options.observe;
  const logEveryMs = options.logEveryMs ?? SEND_FAILURE_LOG_MS;
  if (options.log !== undefined) periodic.every(logEveryMs, logSendFailures);
  let loggedErrors = 0;
  let loggedUnsendable = 0;
  // Cold path: one line per period that saw failed sends, with counts; Bun gives no per-send detail.
  function logSendFailures(): void {
    const errors = stats.sendErrors - loggedErrors;
    const unsendable = stats.drops.unsendable - loggedUnsendable;
    if (errors === 0 && unsendable === 0) return;
    loggedErrors = stats.sendErrors;
    loggedUnsendable = stats.drops.unsendable;
    options.log?.(
      `[SERVER] ${errors} sends failed in the last ${logEveryMs / 1000} s (refused destinations, or ICMP errors where they ` +
        `could not be turned off); the broadcasts went on past them, ${unsendable} datagrams dropped as unsendable`,
    );
  }

  // hot path: every inbound datagram
  function onDatagram(payload: Uint8Array, port: number, address: string, truncated: boolean): void {
    stats.datagramsIn++;
    stats.bytesIn += payload.length;
    // While datagrams arrive faster than they are handled, Bun's receive loop runs back to back and no timer
    // fires (docs/admin.md): the coarse clock the rate limits read is advanced from here too, and periodic work
    // overdue by LATE_MS runs from here (one compare).
    if ((stats.datagramsIn & (OBSERVE_EVERY - 1)) === 0) {
      nowMs = performance.now();
      if (nowMs >= periodic.lateAtMs) periodic.runLate(nowMs);
      if (observe !== undefined) observe();
      if (closed) return; // shut down from in here (a signal, the end of a shutdown's grace)
    }
    const client = registry.lookup(address, port);
    if (client === undefined) {
      gate.admit(payload, port, address, truncated, nowMs);
      return;
    }
    client.lastSeenMs = nowMs;
    if (perSource && !takeToken(client, nowMs, tokensPerMs, burst)) {
      slowDown(client);
      return;
    }
    chat.receive(client, payload, truncated, nowMs);
  }

  // Over its rate: dropped, and told so at most once a second (the notice must not become a flood of its own).
  function slowDown(client: Client): void {
    stats.drops.rate_limited++;
    client.rateLimited++;
    if (nowMs - client.slowNoticeMs < SLOW_NOTICE_INTERVAL_MS) return;
    client.slowNoticeMs = nowMs;
    fanOut.sendTo(slowNotice, client.port, client.address);
  }

  // Closes once the backlog has left or `deadlineMs` passed (what is left is dropped). A periodic job, not a sleep
  // loop: a flooded relay's timers starve, and its drain callback with them, so the receive path also pushes the
  // backlog, and closes the socket from in there rather than after the promise settles.
  let endWait: (() => void) | undefined;
  function closeWhenDrained(deadlineMs: number): Promise<void> {
    return new Promise((resolve) => {
      endWait = resolve;
      periodic.every(5, (now, starved) => {
        if (starved) fanOut.drain();
        if (fanOut.backlogSize > 0 && now < deadlineMs) return;
        if (fanOut.backlogSize > 0) fanOut.abandonBacklog();
        close();
      });
    });
  }

  function close(): void {
    if (closed) return;
    closed = true;
    clearInterval(clock);
    periodic.close();
    gate.close();
    chat.close();
    socket.close();
    sendPath.close();
    endWait?.();
  }

  return {
    host: config.host,
    port: socket.port,
    stats,
    registry,
    chat,
    periodic,
    get backlog() {
      return fanOut.backlogSize;
    },
    fanoutTimes: fanOut.times,
    get open() {
      return !closed;
    },
    endpoint: formatEndpoint(config.host, socket.port),
    sendPath: sendPath.name,
    sockopts,
    async shutdown(graceMs = 2000, announce = true) {
      if (closed) return;
      // A summary of the last busy second still owed goes before the goodbye.
      chat.flushNotices();
      if (announce) {
        const bye = encode(notice.shuttingDown);
        fanOut.broadcast(bye);
        printer?.line(bye);
      }
      if (fanOut.backlogSize > 0) await closeWhenDrained(performance.now() + graceMs);
      else close();
    },
    close,
    deliverRemote(frame) {
      fanOut.broadcast(frame);
      if (console_ !== undefined) console_.line(frame);
    },
  };
}

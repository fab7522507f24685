// The terminal client's session with the relay: the join step, keepalive pings, showing lines, leaving cleanly.

import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { formatEndpoint } from "../protocol/endpoint.ts";
import { cleanName } from "../protocol/names.ts";
import { notice, SERVER_TAG } from "../protocol/wire.ts";
import { classify, joinStep, LineKind, renamedTo, sanitize } from "./lines.ts";
import type { ClientOptions } from "./options.ts";
import type { Screen } from "./screen.ts";

/** How a session ended, as an exit code: 0 left or the relay shut down, 1 could not join. */
export type ExitCode = 0 | 1;

/** Keepalive pings in a row without any answer before the client says it has lost contact. */
const MISSED_PINGS_BEFORE_WARNING = 3;
/** Piped input ended: wait until replies stop for LINGER_QUIET_MS (at most LINGER_MAX_MS) before leaving. */
const LINGER_QUIET_MS = 250;
const LINGER_MAX_MS = 2_000;
/** Answers to address-validation challenges per join attempt. */
const MAX_CHALLENGE_REPLIES = 3;
/**
 * A shutdown notice is believed only if the relay then fails to answer a /ping within this long: anyone who
 * guesses the client's port can send a datagram with the relay's source address. A relay that really shut down
 * answers nothing (its port usually draws an ICMP error at once, which settles it sooner).
 */
export const SHUTDOWN_CONFIRM_MS = 1_000;
/**
 * After a confirmed shutdown the client waits this long for the relay to come back (a restart with --state takes
 * well under a second), pinging every RESTART_PING_MS: a relay that kept its state re-admits the client on that
 * /ping and answers, and the client carries on under its name. Otherwise it ends as it always did.
 */
export const RESTART_WAIT_MS = 3_000;
export const RESTART_PING_MS = 200;

/** How one attempt to join ended. */
type JoinOutcome =
  | { readonly kind: "joined"; readonly notice: string }
  /** Name refused: on a terminal, ask for another. */
  | { readonly kind: "refused"; readonly notice: string }
  /** Full, shutting down, or no relay answering: give up. */
  | { readonly kind: "fatal"; readonly notice: string };

const decoder = new TextDecoder();

/** Joins, chats until the user leaves or the relay shuts down, and returns the exit code. */
export async function runSession(options: ClientOptions, screen: Screen): Promise<ExitCode> {
  const endpoint = formatEndpoint(options.host, options.port);
  let address: string;
  try {
    address = isIP(options.host) !== 0 ? options.host : (await lookup(options.host)).address;
  } catch {
    screen.error(`error: cannot resolve ${options.host} (relay ${endpoint})`);
    return 1;
  }

  // Every datagram goes to `onLine`, and every ICMP error to `onError`; each phase sets its own.
  let onLine: (line: string) => void = () => {};
  let onError: () => void = () => {};
  let heardSinceLastPing = true;
  let socket: Bun.udp.ConnectedSocket<"buffer">;
  try {
    socket = await openSocket();
  } catch (err) {
    // Bun's message is "<CODE>: <what>, connect"; the code alone says it (e.g. ENETUNREACH: no route to the relay).
    screen.error(`error: cannot reach relay ${endpoint}: ${(err as { code?: string }).code ?? (err as Error).message}`);
    return 1;
  }
  function openSocket() {
    return Bun.udpSocket({
      // Bun binds 0.0.0.0 unless told otherwise, and an IPv4 socket cannot connect to an IPv6 relay.
      hostname: isIP(address) === 6 ? "::" : "0.0.0.0",
      // Connected: the kernel drops datagrams from anyone but the relay, and ICMP errors surface here.
      connect: { hostname: address, port: options.port },
      socket: {
        data: (_s, data) => {
          heardSinceLastPing = true;
          onLine(sanitize(decoder.decode(data)));
        },
        error: () => onError(),
      },
    });
  }
  const send = (text: string) => void socket.send(text);

  let joined = false;
  let leaving = false;
  let finish: (code: ExitCode) => void = () => {};
  const finished = new Promise<ExitCode>((resolve) => (finish = resolve));
  const leave = (code: ExitCode) => {
    if (leaving) return;
    leaving = true;
    if (joined) send("/quit");
    finish(code);
  };
  screen.onInterrupt(() => leave(0));
  const orLeave = <T>(p: Promise<T>) => Promise.race([p, finished.then(() => undefined)]);

  // The join step: send the name, read replies; a relay that validates addresses asks for a code first.
  let name = options.name === undefined ? undefined : cleanName(options.name);
  while (!joined && !leaving) {
    if (name === undefined || name === "") {
      const typed = await orLeave(screen.nextLine("Your name: "));
      if (typed === undefined) leave(0);
      else name = cleanName(typed);
      continue;
    }
    const outcome = await orLeave(join(name));
    if (outcome === undefined) break;
    if (outcome.kind === "joined") {
      joined = true;
      screen.show(LineKind.server, outcome.notice);
    } else if (outcome.kind === "refused" && screen.tty) {
      screen.show(LineKind.server, outcome.notice);
      name = undefined;
    } else {
      screen.error(outcome.notice);
      leave(1);
    }
  }
  if (!joined) return close(await finished);

  function join(as: string): Promise<JoinOutcome> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve({ kind: "fatal", notice: `error: no answer from the relay at ${endpoint}` }), options.joinTimeoutMs);
      onError = () => {
        clearTimeout(timer);
        resolve({ kind: "fatal", notice: `error: no relay at ${endpoint} (nothing is listening there)` });
      };
      let replies = 0;
      onLine = (line) => {
        const step = joinStep(line, as);
        if (step.kind === "wait") return;
        if (step.kind === "reply") {
          // The code is for this name; a relay that keeps asking (clock skew, a lost answer) gets a few tries.
          if (++replies <= MAX_CHALLENGE_REPLIES) send(step.text);
          return;
        }
        clearTimeout(timer);
        resolve(step.kind === "joined" ? { kind: "joined", notice: line } : { kind: step.kind, notice: step.notice });
      };
      send(as);
    });
  }

  // Chatting. Pongs to keepalive pings are hidden; a pong the user asked for is shown.
  let me = name!;
  let pongsToHide = 0;
  let missedPings = 0;
  // A shutdown notice starts a check (SHUTDOWN_CONFIRM_MS): shown and obeyed once the relay fails to answer.
  let shutdownCheck: ReturnType<typeof setTimeout> | undefined;
  const shutDown = () => {
    if (shutdownCheck === undefined) return;
    clearTimeout(shutdownCheck);
    shutdownCheck = undefined;
    screen.show(LineKind.server, notice.shuttingDown);
    awaitRestart();
  };
  onError = () => shutDown(); // nothing listens at the relay's port any more
  onLine = (line) => {
    missedPings = 0;
    if (line === notice.shuttingDown) {
      if (shutdownCheck !== undefined) return;
      send("/ping");
      shutdownCheck = setTimeout(shutDown, SHUTDOWN_CONFIRM_MS);
      return;
    }
    if (line === notice.pong && shutdownCheck !== undefined) {
      clearTimeout(shutdownCheck);
      shutdownCheck = undefined;
      screen.note("(a shutdown notice arrived, but the relay still answers: not from the relay, ignored)");
      return;
    }
    if (line === notice.pong && pongsToHide > 0) {
      pongsToHide--;
      return;
    }
    me = renamedTo(line, me) ?? me;
    screen.show(classify(line, me), line);
  };
  // The relay said goodbye and stopped answering. One that restarts with --state remembers this address: the next
  // /ping re-admits it under its name (answering a join code first, off loopback), and any answer but a refusal
  // means carry on. Nothing is shown until then; with no answer within RESTART_WAIT_MS, the client ends.
  let restartWait: ReturnType<typeof setInterval> | undefined;
  function awaitRestart(): void {
    const chatting = onLine;
    const chattingError = onError;
    onError = () => {}; // the port is closed until the new process binds it: expected
    send("/ping");
    restartWait = setInterval(() => send("/ping"), RESTART_PING_MS);
    const giveUp = setTimeout(() => done(false), RESTART_WAIT_MS);
    function done(back: boolean): void {
      clearInterval(restartWait);
      restartWait = undefined;
      clearTimeout(giveUp);
      onLine = chatting;
      onError = chattingError;
      if (!back) return leave(0);
      screen.note("(the relay restarted and remembers you: carrying on)");
      pongsToHide += 1; // the other pings' answers, if any arrive late, are not the user's
    }
    onLine = (line) => {
      if (line === notice.shuttingDown) return;
      const step = joinStep(line, me);
      if (step.kind === "reply") return send(step.text);
      if (step.kind === "refused" || step.kind === "fatal" || line.startsWith(notice.nameTakenWhileAway(me))) return done(false);
      if (line === notice.pong) return done(true);
      if (step.kind === "joined" || !line.startsWith(SERVER_TAG)) {
        done(true);
        chatting(line);
      }
    };
  }

  const keepalive = setInterval(() => {
    missedPings = heardSinceLastPing ? 0 : missedPings + 1;
    heardSinceLastPing = false;
    if (missedPings === MISSED_PINGS_BEFORE_WARNING) screen.note(`(no answer from ${endpoint} for a while; still trying)`);
    // Lost pongs must not hide a later one the user asked for.
    pongsToHide = Math.min(pongsToHide + 1, MISSED_PINGS_BEFORE_WARNING);
    send("/ping");
  }, options.keepaliveMs);

  void (async () => {
    for (;;) {
      const line = await screen.nextLine();
      if (leaving) return;
      if (line === undefined) {
        if (!screen.tty) await linger();
        return leave(0);
      }
      if (line.trim() === "") continue;
      if (line.trim().toLowerCase() === "/quit") return leave(0);
      send(line);
    }
  })();

  // End of piped input: let the replies to what was just sent arrive before leaving.
  async function linger(): Promise<void> {
    const deadline = performance.now() + LINGER_MAX_MS;
    let quietSince = performance.now();
    const previous = onLine;
    onLine = (line) => {
      quietSince = performance.now();
      previous(line);
    };
    while (!leaving && performance.now() < deadline && performance.now() - quietSince < LINGER_QUIET_MS) await Bun.sleep(25);
  }

  const code = await finished;
  clearInterval(keepalive);
  clearInterval(restartWait);
  if (shutdownCheck !== undefined) clearTimeout(shutdownCheck);
  return close(code);

  async function close(exit: ExitCode): Promise<ExitCode> {
    await Bun.sleep(0); // let a final /quit leave before the socket goes
    socket.close();
    return exit;
  }
}

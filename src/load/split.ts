// How a fleet run is divided among its agents: contiguous shares of client ids, sender ids and send rate. Pure.

/** One agent's share of the run. */
export interface Share {
  /** Client ids [idBase, idBase + clients). */
  readonly idBase: number;
  readonly clients: number;
  /** Wire sender ids [senderBase, senderBase + senders): the share's first `senders` clients send. */
  readonly senderBase: number;
  readonly senders: number;
  /** Messages per second from this share: the same rate per sender everywhere. */
  readonly rate: number;
}

/**
 * Splits `clients` ids, `senders` sender ids and `rate` over `agents` agents the way k6's execution segments do:
 * agent k gets [⌊k·n/A⌋, ⌊(k+1)·n/A⌋) of each, so the split depends only on the numbers and shares differ by one at most.
 */
export function splitRun(clients: number, senders: number, rate: number, agents: number): Share[] {
  const cut = (n: number, k: number) => Math.floor((k * n) / agents);
  const shares: Share[] = [];
  for (let k = 0; k < agents; k++) {
    const s = cut(senders, k + 1) - cut(senders, k);
    shares.push({
      idBase: cut(clients, k),
      clients: cut(clients, k + 1) - cut(clients, k),
      senderBase: cut(senders, k),
      senders: s,
      rate: senders > 0 ? (rate * s) / senders : 0,
    });
  }
  return shares;
}

/** The split as a person reads it: one line per agent. */
export function shareText(s: Share): string {
  const range = (from: number, n: number) => (n === 0 ? "none" : n === 1 ? `${from}` : `${from}–${from + n - 1}`);
  return `clients ${range(s.idBase, s.clients)} (${s.clients}), senders ${s.senders} (wire ids ${range(s.senderBase, s.senders)}), ${round3(s.rate)} msg/s`;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

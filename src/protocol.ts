// The wire protocol: every string a client can see, as bytes, and the spec limits. Pure: no sockets here.

const utf8 = new TextEncoder();

/** Separator between a sender's name and its text in a relayed line: `<name> ~ <text>`. */
export const SEPARATOR = " ~ ";

/** Prefix of every line the server itself speaks. Clients tell notices from chat by it. */
export const SERVER_TAG = "[SERVER]";

/** Largest UDP payload over IPv4 (65535 − 8 UDP − 20 IP); no datagram can be larger. */
export const MAX_UDP_PAYLOAD = 65_507;

/** Notice texts, exactly as existing clients parse them. */
export const notice = {
  running: (where: string) => `${SERVER_TAG} Running on ${where}`,
  joined: (name: string) => `${SERVER_TAG} ${name} has joined the chat.`,
  shuttingDown: `${SERVER_TAG} Server is shutting down.`,
  tooLong: (maxTextBytes: number) => `${SERVER_TAG} Message too long (max ${maxTextBytes} bytes).`,
  invalidUtf8: `${SERVER_TAG} Message refused: not valid UTF-8.`,
  nameTooLong: (maxNameBytes: number) => `${SERVER_TAG} Name too long (max ${maxNameBytes} bytes).`,
} as const;

/** Encodes text as a UTF-8 datagram. Cold path only (notices, joins): chat lines never pass through here. */
export function encode(text: string): Uint8Array {
  return utf8.encode(text);
}

/**
 * The bytes every chat line from this client starts with: `<name> ~ `.
 * Encoded once at join time so relaying a line is two memcpy's, not string building.
 */
export function encodePrefix(name: string): Uint8Array {
  return utf8.encode(name + SEPARATOR);
}

/** The join notice for `name`, as sent to everyone. */
export function encodeJoin(name: string): Uint8Array {
  return utf8.encode(notice.joined(name));
}

/**
 * A name as the client meant it: surrounding white space (the newline `nc` adds) trimmed.
 * Returns "" when nothing is left; the caller refuses such a name.
 */
export function cleanName(raw: string): string {
  return raw.trim();
}

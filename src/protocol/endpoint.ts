// Endpoints as people read them: `host:port`, with IPv6 hosts in brackets.

/** `host:port`, bracketing IPv6 hosts. */
export function formatEndpoint(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

import type { Http2ServerRequest } from 'node:http2';
import type { TLSSocket } from 'node:tls';

/** The site a TLS peer's certificate names (its subject CN), or undefined without a verified certificate. */
export function peerSite(socket: TLSSocket): string | undefined {
  if (!socket.authorized) return undefined;
  const cn = socket.getPeerCertificate()?.subject?.CN;
  return typeof cn === 'string' ? cn : undefined;
}

/** The TLS socket an HTTP/2 request came on (undefined in plain-text mode). */
export function tlsSocketOf(req: Http2ServerRequest): TLSSocket | undefined {
  // The session's socket is a proxy: `in` does not see the TLS methods, a property read does.
  const socket = req.stream.session?.socket as Partial<TLSSocket> | undefined;
  return typeof socket?.getPeerCertificate === 'function' ? (socket as TLSSocket) : undefined;
}

import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { createContextValues } from '@connectrpc/connect';
import type { Kit, ServerKitConfig } from '../pki/kit_config.js';
import { COORDINATOR_CN } from '../pki/certificates.js';
import type { Coordinator } from './coordinator.js';
import { federationRoutes, PEER_SITE } from './federation_service.js';
import { MAX_FRAME_BYTES } from './frames.js';
import { peerSite, tlsSocketOf } from './tls.js';

/** A listening coordinator endpoint. */
export interface ListeningServer {
  port: number;
  close(): Promise<void>;
}

/** Logs the first few connection errors, then one in every thousand (a port scan must not flood the log). */
function errorLogger(log: (line: string) => void): (what: string) => void {
  let n = 0;
  return (what) => {
    n++;
    if (n <= 20 || n % 1000 === 0) log(`refused connection (${n} so far): ${what}`);
  };
}

/**
 * Serves the coordinator's RPCs over HTTP/2 with mutual TLS: only certificates of the federation's
 * CA get a connection, and of those only the kit's unrevoked sites (and the coordinator's own, for
 * status) keep it. `insecure` serves plain text instead, for local experiments only.
 */
export async function listen(
  coordinator: Coordinator,
  kit: Kit<ServerKitConfig>,
  options: { host: string; port: number; insecure?: boolean },
): Promise<ListeningServer> {
  const log = coordinator.options.log;
  const refused = errorLogger(log);
  const handler = connectNodeAdapter({
    routes: federationRoutes(coordinator),
    readMaxBytes: MAX_FRAME_BYTES,
    writeMaxBytes: MAX_FRAME_BYTES,
    contextValues: (req) => {
      const socket = tlsSocketOf(req as http2.Http2ServerRequest);
      return createContextValues().set(PEER_SITE, socket === undefined ? undefined : peerSite(socket));
    },
  });
  const server =
    options.insecure === true
      ? http2.createServer(handler)
      : http2.createSecureServer(
          {
            ca: kit.ca,
            cert: kit.cert,
            key: kit.key,
            requestCert: true,
            rejectUnauthorized: true,
            minVersion: 'TLSv1.3',
            allowHTTP1: false,
          },
          handler,
        );
  server.on('secureConnection', (socket: TLSSocket) => {
    const site = peerSite(socket);
    const reason = site === COORDINATOR_CN ? undefined : coordinator.admits(site);
    if (reason !== undefined) {
      coordinator.refuse(site ?? '(no certificate)', `${reason}; connection closed`);
      socket.destroy();
    }
  });
  server.on('tlsClientError', (e: Error) => refused(e.message));
  server.on('sessionError', (e: Error) => refused(e.message));
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s: http2.ServerHttp2Session) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
    s.on('error', (e: Error) => refused(e.message));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => (server.off('error', reject), resolve()));
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.destroy();
        server.close(() => resolve());
      }),
  };
}

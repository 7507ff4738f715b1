import { createContextKey, type ConnectRouter } from '@connectrpc/connect';
import { FederationService } from '../gen/harmofl/v1/federation_pb.js';
import { COORDINATOR_CN } from '../pki/certificates.js';
import type { Coordinator } from './coordinator.js';

/** The peer's site from its certificate (undefined: plain-text mode, where a site is who it claims). */
export const PEER_SITE = createContextKey<string | undefined>(undefined, { description: 'site named by the peer certificate' });

/** The coordinator's RPCs on a Connect router (served as gRPC, gRPC-web and Connect alike). */
export function federationRoutes(coordinator: Coordinator): (router: ConnectRouter) => void {
  return (router) =>
    router.service(FederationService, {
      join(req, ctx) {
        return coordinator.join(coordinator.identify(ctx.values.get(PEER_SITE), req.site), req);
      },
      pull(req, ctx) {
        return coordinator.pull(coordinator.identify(ctx.values.get(PEER_SITE), req.site), req, ctx.signal);
      },
      push(frames, ctx) {
        return coordinator.push(ctx.values.get(PEER_SITE), frames);
      },
      status(_req, ctx) {
        // The server's own kit reads status too (`harmofl status`); any site may as well.
        const peer = ctx.values.get(PEER_SITE);
        if (peer !== COORDINATOR_CN && peer !== undefined) coordinator.identify(peer, '');
        return coordinator.status();
      },
    });
}

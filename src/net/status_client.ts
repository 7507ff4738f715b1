import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { FederationService, type StatusResponse } from '../gen/harmofl/v1/federation_pb.js';
import type { Kit } from '../pki/kit_config.js';

/** Asks the coordinator at `address` (`host:port`) for its status, dialing with `kit`'s certificate. */
export async function fetchStatus(
  kit: Pick<Kit<unknown>, 'ca' | 'cert' | 'key'>,
  address: string,
  insecure = false,
): Promise<StatusResponse> {
  const transport = createGrpcTransport({
    baseUrl: `${insecure ? 'http' : 'https'}://${address}`,
    nodeOptions: insecure ? {} : { ca: kit.ca, cert: kit.cert, key: kit.key },
  });
  return createClient(FederationService, transport).status({}, { timeoutMs: 10_000 });
}

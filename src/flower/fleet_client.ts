import { Code, ConnectError, createClient, encodeBinaryHeader, type Client, type Interceptor } from '@connectrpc/connect';
import { createGrpcTransport, Http2SessionManager } from '@connectrpc/connect-node';
import { Fleet } from '../gen/flwr/proto/fleet_pb.js';
import { AUTH_HEADERS, authMetadata, type NodeKey } from './node_auth.js';

/** A typed client of Flower's Fleet API. */
export type FleetClient = Client<typeof Fleet>;

/** Where the SuperLink's Fleet API listens and how to trust it. */
export interface FleetEndpoint {
  /** `HOST:PORT` (`[::1]:9092` for IPv6). */
  address: string;
  /** PEM of the CA that signed the SuperLink's certificate; absent: plaintext (only for tests and `--insecure` SuperLinks). */
  rootCertificates?: string;
}

/** A Fleet connection: the client, and `close()` to drop its HTTP/2 session. */
export interface FleetConnection {
  client: FleetClient;
  close(): void;
}

/** Signs every call as Flower's NodeAuthClientInterceptor does (fresh timestamp per call). */
function nodeAuthInterceptor(key: NodeKey): Interceptor {
  return (next) => async (req) => {
    const m = authMetadata(key);
    req.header.set(AUTH_HEADERS.publicKey, encodeBinaryHeader(m.publicKey));
    req.header.set(AUTH_HEADERS.timestamp, m.timestamp);
    req.header.set(AUTH_HEADERS.signature, encodeBinaryHeader(m.signature));
    return await next(req);
  };
}

/** Opens a gRPC (HTTP/2) connection to the Fleet API, every call signed with `key`. */
export function connectFleet(endpoint: FleetEndpoint, key: NodeKey): FleetConnection {
  const baseUrl = `${endpoint.rootCertificates === undefined ? 'http' : 'https'}://${endpoint.address}`;
  const nodeOptions = endpoint.rootCertificates === undefined ? {} : { ca: endpoint.rootCertificates };
  const sessionManager = new Http2SessionManager(baseUrl, { pingIntervalMs: 30_000 }, nodeOptions);
  const transport = createGrpcTransport({ baseUrl, sessionManager, interceptors: [nodeAuthInterceptor(key)] });
  return { client: createClient(Fleet, transport), close: () => sessionManager.abort() };
}

/** What a failed Fleet call means for the SuperNode: try again later, or stop and tell the user. */
export class FleetError extends Error {
  override readonly name = 'FleetError';
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

const TLS_TRUST_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The node error code behind a Connect error, if any (TLS and socket failures). */
function causeCode(e: unknown): string | undefined {
  let c: unknown = e;
  for (let i = 0; i < 4 && c instanceof Error; i++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    c = c.cause;
  }
  return undefined;
}

/** Names what went wrong in Fleet call `rpc`, in terms a site operator can act on. */
export function describeFleetError(e: unknown, rpc: string, endpoint: string): FleetError {
  if (e instanceof FleetError) return e;
  const err = ConnectError.from(e);
  const cause = causeCode(err.cause) ?? causeCode(e);
  if (cause !== undefined && TLS_TRUST_CODES.has(cause))
    return new FleetError(
      `untrusted certificate: the SuperLink at ${endpoint} presented a certificate that --root-certificates does not vouch for (${cause}); pass the CA that signed the SuperLink's certificate`,
      false,
    );
  switch (err.code) {
    case Code.Unimplemented:
      return new FleetError(
        `the SuperLink at ${endpoint} does not implement flwr.proto.Fleet/${rpc} (${err.rawMessage}): it speaks another Fleet API than Flower 1.23's (object-based messages came with 1.19, ActivateNode with 1.20); run a Flower 1.23 SuperLink`,
        false,
      );
    case Code.Unauthenticated:
      return new FleetError(
        `the SuperLink refused this node's credentials (${err.rawMessage})${/timestamp/i.test(err.rawMessage) ? "; check this machine's clock" : '; is node authentication set up with this key?'}`,
        false,
      );
    case Code.FailedPrecondition:
      if (/no supernode found with the given public key/i.test(err.rawMessage))
        return new FleetError(
          `key not registered: the SuperLink knows no SuperNode with this public key; register it first (flwr supernode register <key>.pub) and try again`,
          false,
        );
      if (/could not be activated/i.test(err.rawMessage))
        return new FleetError(
          `the SuperLink still counts this node online from an earlier session (${err.rawMessage}); retrying until that session times out`,
          true,
        );
      return new FleetError(`Fleet/${rpc} failed: ${err.rawMessage}`, false);
    case Code.Unavailable:
    case Code.DeadlineExceeded:
    case Code.Aborted:
    case Code.ResourceExhausted:
    case Code.Unknown:
      return new FleetError(`the SuperLink at ${endpoint} is unreachable (${cause ?? err.rawMessage})`, true);
    case Code.Canceled:
      return new FleetError(
        `the SuperLink at ${endpoint} closed the connection (${err.rawMessage}); if it runs TLS, pass --root-certificates rather than --insecure`,
        false,
      );
    case Code.PermissionDenied:
      return new FleetError(`Fleet/${rpc} was refused: ${err.rawMessage} (has the run stopped?)`, true);
    default:
      return new FleetError(`Fleet/${rpc} failed (${Code[err.code]}): ${err.rawMessage}`, false);
  }
}

/** What telemetry records of a connection to a mesh endpoint: the service, and who the endpoint had to prove it was. */
import type { Endpoint } from '../../proxyconfig/types.js';
import type { AccessLogEntry } from './access-log.js';

export type MeshHop = Pick<AccessLogEntry, 'destinationService' | 'mtls' | 'upstreamPrincipal' | 'upstreamHost'>;

export function meshHop(service: string, ep: Endpoint): MeshHop {
  return { destinationService: service, mtls: ep.mtls, upstreamPrincipal: ep.spiffeId, upstreamHost: `${ep.address}:${ep.mtls ? ep.inboundPort : ep.targetPort}` };
}

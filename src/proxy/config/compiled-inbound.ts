/** The sidecar's inbound side compiled: peer authentication modes, protocols and app ports by port, rate limits. */
import type { InboundConfig, PeerAuthnMode, PortProtocol } from '../../proxyconfig/types.js';
import { compileRateLimits } from '../ratelimit/compiled-rate-limit.js';
import type { CompiledRateLimits } from '../ratelimit/compiled-rate-limit.js';

export interface CompiledInbound {
  defaultMode: PeerAuthnMode;
  /** App port → mode. */
  modes: Map<number, PeerAuthnMode>;
  /** App port → protocol: opaque TCP ports are piped, not parsed. */
  protocols: Map<number, PortProtocol>;
  /** `host:port` of a service port → app port. */
  targetPorts: Map<string, number>;
  /** Service port alone → app port, when unambiguous (plaintext requests carry only a short Host). */
  targetByServicePort: Map<number, number>;
  /** App port → the FQDNs of the services whose ports target it: what telemetry may name as the destination. */
  servicesByAppPort: Map<number, readonly string[]>;
  appPorts: number[];
  /** True when no port accepts plaintext: a non-TLS connection is refused on its first byte. */
  strictEverywhere: boolean;
  /** The LocalRateLimitPolicy of each app port. */
  rateLimits: CompiledRateLimits;
}

export function compileInbound(inbound: InboundConfig): CompiledInbound {
  const modes = new Map<number, PeerAuthnMode>();
  const protocols = new Map<number, PortProtocol>();
  for (const p of inbound.ports) {
    modes.set(p.port, p.mode);
    protocols.set(p.port, p.protocol);
  }
  const targetPorts = new Map<string, number>();
  const byPort = new Map<number, Set<number>>();
  const servicesByAppPort = new Map<number, string[]>();
  for (const sp of inbound.servicePorts) {
    targetPorts.set(`${sp.host}:${sp.port}`, sp.targetPort);
    const services = servicesByAppPort.get(sp.targetPort) ?? [];
    if (!services.includes(sp.host)) services.push(sp.host);
    servicesByAppPort.set(sp.targetPort, services);
    const set = byPort.get(sp.port) ?? new Set<number>();
    set.add(sp.targetPort);
    byPort.set(sp.port, set);
  }
  const targetByServicePort = new Map<number, number>();
  for (const [port, targets] of byPort) if (targets.size === 1) targetByServicePort.set(port, [...targets][0]!);
  const allModes = [...modes.values(), inbound.defaultMode];
  return {
    defaultMode: inbound.defaultMode,
    modes,
    protocols,
    targetPorts,
    targetByServicePort,
    servicesByAppPort,
    appPorts: inbound.ports.map((p) => p.port),
    strictEverywhere: allModes.every((m) => m === 'STRICT'),
    rateLimits: compileRateLimits(inbound.rateLimits),
  };
}

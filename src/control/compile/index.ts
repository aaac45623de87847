/**
 * compile: (mesh snapshot, proxy identity) → ProxyConfig. Pure and deterministic, so equal inputs give equal
 * versions and the push loop sends nothing when nothing changed for a proxy.
 */
import { createHash } from 'node:crypto';
import { PROXY_CONFIG_SCHEMA } from '../../proxyconfig/types.js';
import type { ProxyConfig } from '../../proxyconfig/types.js';
import { WeftError } from '../../errors.js';
import type { MeshSnapshot } from './snapshot.js';
import { compileOutbound } from './outbound.js';
import { compileInbound } from './inbound.js';
import { compileGateway } from './gateway.js';
import { compileSecurity } from './security.js';

export interface ProxyNode {
  role: 'sidecar' | 'gateway';
  namespace: string;
  name: string;
  serviceAccount: string;
  /** Gateways only: their labels (sidecars take the Workload's). */
  labels?: Record<string, string>;
}

export function compileProxyConfig(snap: MeshSnapshot, node: ProxyNode): ProxyConfig {
  const spiffeId = `spiffe://${snap.mesh.trustDomain}/ns/${node.namespace}/sa/${node.serviceAccount}`;
  let body: Omit<ProxyConfig, 'version'>;
  if (node.role === 'sidecar') {
    const w = snap.registry.workloads.find((x) => x.namespace === node.namespace && x.name === node.name);
    if (!w) throw new WeftError('NOT_FOUND', `no Workload ${node.namespace}/${node.name}`);
    if (w.serviceAccount !== node.serviceAccount) {
      throw new WeftError('FORBIDDEN', `Workload ${node.namespace}/${node.name} runs as ${w.serviceAccount}, not ${node.serviceAccount}`);
    }
    body = {
      schema: PROXY_CONFIG_SCHEMA,
      proxy: { role: 'sidecar', namespace: node.namespace, name: node.name, spiffeId, labels: w.labels },
      trustDomain: snap.mesh.trustDomain,
      inbound: compileInbound(snap, w),
      outbound: { services: compileOutbound(snap, node.namespace) },
      gateway: null,
      security: compileSecurity(snap, w),
    };
  } else {
    const labels = node.labels ?? {};
    body = {
      schema: PROXY_CONFIG_SCHEMA,
      proxy: { role: 'gateway', namespace: node.namespace, name: node.name, spiffeId, labels },
      trustDomain: snap.mesh.trustDomain,
      inbound: null,
      outbound: { services: compileOutbound(snap, node.namespace) },
      gateway: { servers: compileGateway(snap, labels) },
      security: compileSecurity(snap, { namespace: node.namespace, labels }),
    };
  }
  const version = createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 16);
  return { ...body, version } as ProxyConfig;
}

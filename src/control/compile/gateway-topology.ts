/**
 * How many trusted proxies stand in front of one gateway (Istio's `gatewayTopology.numTrustedProxies`): the
 * `proxy.istio.io/config` annotation on a Gateway that selects it, as Istio reads it from the gateway pod's
 * annotation, else MeshConfig `defaultConfig.gatewayTopology`, else 0. weft's gateway has no pod object of its
 * own, so the Gateway resources that configure it carry the annotation; when several do, the oldest one wins.
 */
import { parse } from 'yaml';
import { z } from 'zod';
import { GatewayTopologySchema } from '../../config/kinds/mesh-config.js';
import type { GatewaySpec } from '../../config/kinds/gateway.js';
import { selects } from '../registry/index.js';
import type { MeshSnapshot, Named } from './snapshot.js';

export const PROXY_CONFIG_ANNOTATION = 'proxy.istio.io/config';

// The annotation is a whole Istio ProxyConfig; only gatewayTopology concerns a weft gateway.
const AnnotationSchema = z.object({ gatewayTopology: GatewayTopologySchema.optional() });

/** numTrustedProxies from one annotation value (JSON or YAML); undefined when absent or not a valid setting. */
export function annotatedNumTrustedProxies(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  let doc: unknown;
  try {
    doc = parse(value);
  } catch {
    return undefined;
  }
  const parsed = AnnotationSchema.safeParse(doc);
  return parsed.success ? parsed.data.gatewayTopology?.numTrustedProxies : undefined;
}

export function gatewayNumTrustedProxies(snap: MeshSnapshot, labels: Record<string, string>): number {
  const byAge = (a: Named<GatewaySpec>, b: Named<GatewaySpec>): number =>
    a.creationTimestamp.localeCompare(b.creationTimestamp) || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name);
  for (const gw of snap.gateways.filter((g) => selects(g.spec.selector, labels)).sort(byAge)) {
    const n = annotatedNumTrustedProxies(gw.annotations[PROXY_CONFIG_ANNOTATION]);
    if (n !== undefined) return n;
  }
  return snap.mesh.gatewayTopology.numTrustedProxies;
}

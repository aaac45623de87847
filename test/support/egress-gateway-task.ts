/**
 * Istio's egress-gateway task as YAML: the ServiceEntry that pins an external host to the address standing in for
 * it, a Gateway of the egress gateway with one server for the host, and the task with mTLS on the hop (the Gateway's
 * 443 server for `host` says ISTIO_MUTUAL, the DestinationRule to the gateway ISTIO_MUTUAL with the host as SNI, and
 * the VirtualService sends a sidecar's HTTP call on 80 to the gateway's 443 and the gateway's on to the host's 80).
 */
export const EGRESS_GATEWAY_HOST = 'istio-egressgateway.istio-system.svc.cluster.local';

export interface ServicePort {
  number: number;
  name: string;
  protocol: string;
}

/** A MESH_EXTERNAL ServiceEntry whose one endpoint, `address`, stands in for `host` (STATIC: it pins where it goes). */
export function staticEntry(o: { name: string; namespace: string; host: string; address: string; port: ServicePort }): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${o.name}, namespace: ${o.namespace} }
spec:
  hosts: [${o.host}]
  location: MESH_EXTERNAL
  resolution: STATIC
  endpoints: [{ address: "${o.address}" }]
  ports: [{ number: ${o.port.number}, name: ${o.port.name}, protocol: ${o.port.protocol} }]
`;
}

/** A Gateway in `default` selecting the egress gateway, with one server for `host` (and its TLS mode, if any). */
export function egressGateway(o: { name: string; host: string; port: ServicePort; tlsMode?: 'PASSTHROUGH' | 'ISTIO_MUTUAL' }): string {
  return `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: ${o.name}, namespace: default }
spec:
  selector: { istio: egressgateway }
  servers:
  - port: { number: ${o.port.number}, name: ${o.port.name}, protocol: ${o.port.protocol} }
    hosts: [${o.host}]
${o.tlsMode === undefined ? '' : `    tls: { mode: ${o.tlsMode} }\n`}`;
}

export function mutualEgressRoute(host: string, gateway = 'istio-egressgateway'): string {
  return `${egressGateway({ name: gateway, host, port: { number: 443, name: 'https', protocol: 'HTTPS' }, tlsMode: 'ISTIO_MUTUAL' })}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: egressgateway-for-plain, namespace: default }
spec:
  host: ${EGRESS_GATEWAY_HOST}
  subsets:
  - name: plain
    trafficPolicy:
      portLevelSettings:
      - port: { number: 443 }
        tls: { mode: ISTIO_MUTUAL, sni: ${host} }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: direct-plain-through-egress-gateway, namespace: default }
spec:
  hosts: [${host}]
  gateways: [${gateway}, mesh]
  http:
  - match: [{ gateways: [mesh], port: 80 }]
    route: [{ destination: { host: ${EGRESS_GATEWAY_HOST}, subset: plain, port: { number: 443 } } }]
  - match: [{ gateways: [${gateway}], port: 443 }]
    route: [{ destination: { host: ${host}, port: { number: 80 } } }]
`;
}

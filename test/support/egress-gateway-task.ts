/**
 * Istio's egress-gateway task with mTLS on the hop, as YAML: the Gateway's 443 server for `host` says ISTIO_MUTUAL,
 * the DestinationRule to the gateway ISTIO_MUTUAL with the host as SNI, and the VirtualService sends a sidecar's
 * HTTP call on 80 to the gateway's 443 and the gateway's on to the host's 80.
 */
export const EGRESS_GATEWAY_HOST = 'istio-egressgateway.istio-system.svc.cluster.local';

export function mutualEgressRoute(host: string, gateway = 'istio-egressgateway'): string {
  return `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: ${gateway}, namespace: default }
spec:
  selector: { istio: egressgateway }
  servers:
  - port: { number: 443, name: https, protocol: HTTPS }
    hosts: [${host}]
    tls: { mode: ISTIO_MUTUAL }
---
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

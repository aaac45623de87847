/** Test fixture: a gateway's ProxyConfig with one backend service (plaintext endpoint on loopback) and the servers a test names. */
import { PROXY_CONFIG_SCHEMA } from '../../proxyconfig/types.js';
import type { GatewayServer, ProxyConfig } from '../../proxyconfig/types.js';
import type { ServerTlsConfig } from '../../proxyconfig/gateway-types.js';
import type { RootCaPem } from '../../identity/root-ca.js';

export const BACKEND = 'backend.default.svc.cluster.local';

export function serverTls(cert: RootCaPem, over: Partial<ServerTlsConfig> = {}): ServerTlsConfig {
  return {
    mode: 'SIMPLE',
    certificates: [{ chain: { secret: 'weft-system/c', pem: cert.certPem }, privateKey: { secret: 'weft-system/c', pem: cert.keyPem } }],
    subjectAltNames: [],
    verifyCertificateSpki: [],
    verifyCertificateHash: [],
    minProtocolVersion: 'TLSv1.2',
    maxProtocolVersion: 'TLSv1.3',
    cipherSuites: [],
    ...over,
  };
}

export function gatewayConfig(backendPort: number, servers: Array<Omit<GatewayServer, 'name' | 'virtualHosts'> & Partial<Pick<GatewayServer, 'virtualHosts'>>>): ProxyConfig {
  return {
    schema: PROXY_CONFIG_SCHEMA,
    version: 'v1',
    proxy: { role: 'gateway', namespace: 'weft-system', name: 'gw', spiffeId: 'spiffe://cluster.local/ns/weft-system/sa/gw', labels: {} },
    trustDomain: 'cluster.local',
    inbound: null,
    outbound: {
      services: [{
        host: BACKEND, namespace: 'default', aliases: [], addresses: [],
        // PeerAuthentication DISABLE at the backend: the gateway dials it in plaintext, so no mesh CA is needed here.
        ports: [{ port: 443, name: 'tls', protocol: 'tls', endpoints: [{ address: '127.0.0.1', inboundPort: 1, targetPort: backendPort, spiffeId: 'spiffe://cluster.local/ns/default/sa/backend', mtls: false, workload: 'default/backend' }] }],
      }],
      externals: [],
      trafficPolicy: 'REGISTRY_ONLY',
    },
    gateway: { servers: servers.map((s) => ({ virtualHosts: [], ...s, name: `p${s.port}` })) },
    security: { rootNamespace: 'weft-system', pathNormalization: 'BASE', authorizationPolicies: [], jwtRules: [], extensionProviders: [] },
  };
}


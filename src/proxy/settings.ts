/**
 * A proxy's bootstrap settings: where the control plane is, who this proxy is, where to listen. Read through a
 * `get(key)` interface so tests pass a Map instead of the real environment. Everything else comes from the
 * control plane as ProxyConfig.
 */
import { WeftError } from '../errors.js';
import { parseDnsUpstream } from './dns/dns-upstream.js';
import type { DnsServer } from './dns/dns-upstream.js';

export interface ProxySettings {
  role: 'sidecar' | 'gateway';
  namespace: string;
  name: string;
  serviceAccount: string;
  trustDomain: string;
  /** Namespace of the control plane's identity (the mesh's root namespace). */
  controlNamespace: string;
  podIP: string;
  /** Every control-plane replica, https://host:port each (WEFT_CONTROL_URL, comma-separated); the proxy fails over between them. */
  controlUrls: string[];
  /** PEM of the roots the control plane's certificate chains to. */
  caBundleFile: string;
  /** The same PEM given inline (WEFT_CA_BUNDLE_PEM): a sidecar under its own uid may not read the state directory. */
  caBundlePem: string | undefined;
  bootstrapToken: string;
  inboundPort: number;
  outboundPort: number;
  /** Metrics and readiness (Istio's 15020); 0 picks a free port. */
  adminPort: number;
  /** Gateways: Gateway server port → port really bound on `podIP`. */
  publish: Map<number, number>;
  /** How long a gateway waits for a TLS client's hello and handshake (WEFT_GATEWAY_HANDSHAKE_TIMEOUT_MS, 15 s). */
  gatewayHandshakeTimeoutMs: number;
  /** Gateways: labels for Gateway selectors. */
  labels: Record<string, string>;
  accessLog: boolean;
  /**
   * Transparent capture (netns pods): the app's redirected connections arrive on 127.0.0.1 at this port, and the
   * inbound listener reads each redirected connection's original destination. Undefined: no capture.
   */
  captureOutboundPort: number | undefined;
  /**
   * The DNS proxy's port on 127.0.0.1 (WEFT_DNS_PORT, Istio's 15053): it answers service and ServiceEntry names
   * from the config and forwards the rest. Undefined: no DNS proxy.
   */
  dnsPort: number | undefined;
  /**
   * Upstream DNS servers, `ip[:port]` comma separated (WEFT_DNS_UPSTREAM): where the DNS proxy forwards other
   * names and where the sidecar resolves egress destinations. Empty: the system's resolvers.
   */
  dnsUpstream: DnsServer[];
}

export function parseProxySettings(get: (key: string) => string | undefined): ProxySettings {
  const need = (key: string): string => {
    const v = get(key);
    if (v === undefined || v === '') throw new WeftError('BAD_REQUEST', `proxy setting ${key} is required`);
    return v;
  };
  const role = get('WEFT_ROLE') ?? 'sidecar';
  if (role !== 'sidecar' && role !== 'gateway') throw new WeftError('BAD_REQUEST', `WEFT_ROLE must be sidecar or gateway, not ${role}`);
  return {
    role,
    namespace: need('WEFT_NAMESPACE'),
    name: need('WEFT_NAME'),
    serviceAccount: need('WEFT_SERVICE_ACCOUNT'),
    trustDomain: get('WEFT_TRUST_DOMAIN') ?? 'cluster.local',
    controlNamespace: get('WEFT_CONTROL_NAMESPACE') ?? 'weft-system',
    podIP: need('WEFT_POD_IP'),
    controlUrls: controlUrls(need('WEFT_CONTROL_URL')),
    caBundleFile: get('WEFT_CA_BUNDLE_PEM') ? (get('WEFT_CA_BUNDLE') ?? '') : need('WEFT_CA_BUNDLE'),
    caBundlePem: get('WEFT_CA_BUNDLE_PEM') || undefined,
    bootstrapToken: need('WEFT_BOOTSTRAP_TOKEN'),
    inboundPort: port(get('WEFT_INBOUND_PORT') ?? '15006', 'WEFT_INBOUND_PORT'),
    outboundPort: port(get('WEFT_OUTBOUND_PORT') ?? '15001', 'WEFT_OUTBOUND_PORT'),
    // A gateway shares its host's address with other processes: its admin port is the OS's choice unless set.
    adminPort: port(get('WEFT_ADMIN_PORT') ?? (role === 'gateway' ? '0' : '15020'), 'WEFT_ADMIN_PORT'),
    publish: parsePublish(get('WEFT_PUBLISH') ?? ''),
    gatewayHandshakeTimeoutMs: positiveMs(get('WEFT_GATEWAY_HANDSHAKE_TIMEOUT_MS') ?? '15000', 'WEFT_GATEWAY_HANDSHAKE_TIMEOUT_MS'),
    labels: parseLabels(get('WEFT_LABELS') ?? ''),
    accessLog: (get('WEFT_ACCESS_LOG') ?? 'on') !== 'off',
    captureOutboundPort: get('WEFT_CAPTURE_OUTBOUND_PORT') ? port(get('WEFT_CAPTURE_OUTBOUND_PORT')!, 'WEFT_CAPTURE_OUTBOUND_PORT') : undefined,
    dnsPort: get('WEFT_DNS_PORT') ? port(get('WEFT_DNS_PORT')!, 'WEFT_DNS_PORT') : undefined,
    dnsUpstream: parseDnsUpstream(get('WEFT_DNS_UPSTREAM') ?? ''),
  };
}

function port(v: string, key: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new WeftError('BAD_REQUEST', `${key} must be a port number, not ${v}`);
  return n;
}

/** `8080=18080,8443=18443` */
function parsePublish(v: string): Map<number, number> {
  const m = new Map<number, number>();
  for (const pair of v.split(',').filter(Boolean)) {
    const [from, to] = pair.split('=');
    m.set(port(from ?? '', 'WEFT_PUBLISH'), port(to ?? '', 'WEFT_PUBLISH'));
  }
  return m;
}

/** `istio=ingressgateway,app=gw` */
function parseLabels(v: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of v.split(',').filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq > 0) out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

function positiveMs(raw: string, name: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 600_000) throw new WeftError('BAD_REQUEST', `${name} must be milliseconds between 1 and 600000, not ${raw}`);
  return n;
}

function controlUrls(value: string): string[] {
  const urls = value.split(',').map((u) => u.trim()).filter((u) => u !== '');
  for (const u of urls) {
    if (!/^https:\/\/[^/\s]+:\d+$/.test(u)) throw new WeftError('BAD_REQUEST', `WEFT_CONTROL_URL: ${u} is not https://host:port`);
  }
  if (urls.length === 0) throw new WeftError('BAD_REQUEST', 'WEFT_CONTROL_URL names no control plane');
  return urls;
}

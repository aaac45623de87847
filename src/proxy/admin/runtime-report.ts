/**
 * The proxy's runtime report (src/push/runtime-report.ts), made when the control plane asks: endpoint health and
 * breaker counts from the endpoint registry, and the public metadata of the certificates the proxy holds (its SVID,
 * the roots, the certificates of DestinationRule credentials it originates with). A private key is never read here.
 */
import { X509Certificate } from 'node:crypto';
import type { Clock } from '../../clock.js';
import { MAX_REPORTED_ENDPOINTS } from '../../push/runtime-report.js';
import type { CertificateReport, ClusterHealthReport, ProxyRuntimeReport } from '../../push/runtime-report.js';
import type { ProxyRuntime } from '../proxy-runtime.js';
import type { ClusterRuntime } from '../balance/cluster-runtime.js';
import type { ProxyConfig } from '../../proxyconfig/types.js';
import type { ClientCredential } from '../../proxyconfig/client-credential-types.js';

function describeCertificate(pem: string, name: string, type: CertificateReport['type']): CertificateReport {
  const x = new X509Certificate(pem);
  return {
    name,
    type,
    serialNumber: x.serialNumber.toLowerCase(),
    notBefore: new Date(x.validFrom).toISOString(),
    notAfter: new Date(x.validTo).toISOString(),
    // An SVID's subject is empty: the SPIFFE ID is its URI SAN.
    subject: (x.subject ?? '').replaceAll('\n', ', '),
    issuer: (x.issuer ?? '').replaceAll('\n', ', '),
    subjectAltNames: (x.subjectAltName ?? '').split(', ').filter((s) => s !== ''),
  };
}

function clusterHealth(c: ClusterRuntime, clock: Clock): ClusterHealthReport {
  const b = c.breaker;
  return {
    name: c.name,
    outlierDetection: c.outlierDetector !== undefined,
    panic: c.panic,
    breaker: {
      activeConnections: b.activeConnections,
      pendingRequests: b.pendingRequests,
      activeRequests: b.activeRequests,
      activeRetries: b.activeRetries,
      overflows: { ...b.overflows },
    },
    endpoints: c.hosts.map((h) => ({
      address: h.address,
      ejected: h.ejected,
      // ejectedAt is on the proxy's clock; the report speaks wall time.
      ejectedSince: h.ejected ? new Date(Date.now() - (clock.now() - h.ejectedAt)).toISOString() : null,
      timesEjected: h.timesEjected,
      activeRequests: h.activeRequests,
    })),
  };
}

/**
 * The certificates of DestinationRule `credentialName`s this proxy originates with, named as Istio's SDS names them
 * (`kubernetes://<name>` for the client certificate, `kubernetes://<name>-cacert` for the CA), each Secret once.
 */
function credentialCertificates(config: ProxyConfig | undefined): CertificateReport[] {
  const out: CertificateReport[] = [];
  const named = new Set<string>();
  const add = (pem: string | undefined, name: string, type: CertificateReport['type']): void => {
    if (pem === undefined || named.has(name)) return;
    named.add(name);
    try {
      out.push(describeCertificate(pem, name, type));
    } catch {
      // Checked at apply; one that still does not parse is left out rather than failing the whole report.
    }
  };
  for (const e of config?.outbound.externals ?? []) {
    for (const o of e.origination ?? []) {
      const c: ClientCredential | undefined = o.tls.credential;
      if (c === undefined) continue;
      const name = `kubernetes://${c.secret.slice(c.secret.indexOf('/') + 1)}`;
      add(c.certificate?.pem, name, 'Cert Chain');
      add(c.ca?.pem, `${name}-cacert`, 'CA');
    }
  }
  return out;
}

export function runtimeReport(rt: ProxyRuntime, clock: Clock): ProxyRuntimeReport {
  const certificates: CertificateReport[] = [];
  if (rt.cert.ready) {
    const { certChainPem, trustBundlePem } = rt.cert.current;
    if (certChainPem[0] !== undefined) certificates.push(describeCertificate(certChainPem[0], 'default', 'Cert Chain'));
    for (const root of trustBundlePem) certificates.push(describeCertificate(root, 'ROOTCA', 'CA'));
  }
  certificates.push(...credentialCertificates(rt.config?.raw));
  const clusters: ClusterHealthReport[] = [];
  let endpoints = 0;
  let truncated = false;
  for (const c of [...rt.endpoints.all()].sort((a, b) => a.name.localeCompare(b.name))) {
    endpoints += c.hosts.length;
    if (endpoints > MAX_REPORTED_ENDPOINTS) {
      truncated = true;
      break;
    }
    clusters.push(clusterHealth(c, clock));
  }
  return { configVersion: rt.config?.version ?? null, time: new Date().toISOString(), certificates, clusters, truncated };
}

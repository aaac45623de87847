/**
 * Checks of a Gateway server's `tls` block that its schema cannot make: cipher names OpenSSL knows (Envoy's names
 * are OpenSSL's), a version range that is not empty, one source of certificates, and a mode that fits the protocol.
 */
import tls from 'node:tls';
import type { ServerTlsSettings } from './gateway.js';
import type { SpecIssue } from './spec-issue.js';

const KNOWN_CIPHERS = new Set(tls.getCiphers());
const ORDER = ['TLSV1_0', 'TLSV1_1', 'TLSV1_2', 'TLSV1_3'];

export function checkServerTls(t: ServerTlsSettings, protocol: string, at: (string | number)[]): SpecIssue[] {
  const issues: SpecIssue[] = [];
  (t.cipherSuites ?? []).forEach((c, k) => {
    if (!KNOWN_CIPHERS.has(c.toLowerCase())) issues.push({ path: [...at, 'cipherSuites', k], message: `unknown cipher suite "${c}"` });
  });
  const min = ORDER.indexOf(t.minProtocolVersion ?? '');
  const max = ORDER.indexOf(t.maxProtocolVersion ?? '');
  if (min >= 0 && max >= 0 && min > max) issues.push({ path: [...at, 'minProtocolVersion'], message: `minProtocolVersion ${t.minProtocolVersion} is above maxProtocolVersion ${t.maxProtocolVersion}` });
  const fromSecret = t.credentialName !== undefined || (t.credentialNames ?? []).length > 0;
  const fromFiles = t.serverCertificate !== undefined || t.privateKey !== undefined || (t.tlsCertificates ?? []).length > 0;
  if (fromSecret && fromFiles) issues.push({ path: at, message: 'credentialName and serverCertificate/privateKey/tlsCertificates are mutually exclusive' });
  if (t.credentialName !== undefined && t.credentialNames !== undefined) issues.push({ path: [...at, 'credentialNames'], message: 'credentialName and credentialNames are mutually exclusive' });
  if ((t.serverCertificate === undefined) !== (t.privateKey === undefined)) issues.push({ path: at, message: 'serverCertificate and privateKey go together' });
  if (protocol === 'HTTP' && t.mode !== undefined && t.httpsRedirect !== true) issues.push({ path: [...at, 'mode'], message: 'an HTTP server does not terminate TLS; use protocol HTTPS' });
  if (protocol === 'TCP' && t.mode !== undefined) issues.push({ path: [...at, 'mode'], message: 'a TCP server takes no tls settings; use protocol TLS' });
  if ((t.mode === 'PASSTHROUGH' || t.mode === 'AUTO_PASSTHROUGH') && (fromSecret || fromFiles)) issues.push({ path: [...at, 'mode'], message: `${t.mode} passes TLS through: it takes no certificate` });
  return issues;
}

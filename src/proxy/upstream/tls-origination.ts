/**
 * TLS originated by the sidecar for a DestinationRule `tls` of mode SIMPLE or MUTUAL (Istio's egress TLS
 * origination): the app speaks plain HTTP, the sidecar opens TLS to the destination. As Istio configures Envoy:
 * - the server name sent is `sni`, else the request's host (Istio's auto SNI);
 * - the server's chain is verified against `caCertificates`, else the system's roots (Istio verifies at the client
 *   by default), with `caCrl` revocations; `insecureSkipVerify` turns verification off;
 * - its name is checked against `subjectAltNames` (any one, DNS or URI SAN, exact), else against the server name
 *   (Istio's auto SAN validation);
 * - MUTUAL presents `clientCertificate` with `privateKey`;
 * - TLS 1.2 exactly: Envoy's client defaults (tls_minimum/maximum_protocol_version), which Istio leaves as they are
 *   for SIMPLE and MUTUAL. In TLS 1.2 a server's refusal of the client certificate ends the handshake, so it is a
 *   connect failure (`UF`), as at Envoy.
 * Certificate files are read for each new connection, so a rotated file is used by the next connection (Envoy
 * watches them). `credentialName` arrives resolved (`credential`: the Secret's PEM, only where Istio applies it: at
 * gateways, and at sidecars a workloadSelector chose); a rotated Secret is a new config, whose policy object the
 * next connection uses, so its context is built once per push rather than per connection. Without `credential` the
 * file fields apply, as at Istio's sidecars.
 */
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { WeftError } from '../../errors.js';
import type { ClientTlsPolicy } from '../../proxyconfig/types.js';
import type { ClientCredential } from '../../proxyconfig/client-credential-types.js';
import { dialTcp } from './plain-connect.js';
import type { Preface } from './proxy-protocol.js';

export interface OriginationTarget {
  address: string;
  port: number;
  /** The host the request was for: the server name when the rule sets no `sni`. */
  host: string;
}

/** Envoy's upstream TLS defaults: TLS 1.2 at least and at most. */
const ENVOY_CLIENT_VERSIONS = { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' } as const;

function failed(servername: string, why: string, cause?: unknown): WeftError {
  return new WeftError('TLS_ORIGINATION_FAILED', `TLS origination to ${servername} failed: ${why}`, { cause });
}

function readPem(file: string, what: string, servername: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw failed(servername, `cannot read ${what} ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, err);
  }
}

/** Any one of `names` among the certificate's DNS and URI SANs (Envoy's exact match_subject_alt_names). */
function sanMatches(cert: tls.PeerCertificate, names: readonly string[]): boolean {
  const sans = (cert.subjectaltname ?? '').split(', ').map((s) => s.slice(s.indexOf(':') + 1));
  return names.some((n) => sans.includes(n));
}

/** The connection options for one connection; throws a TLS_ORIGINATION_FAILED WeftError when they cannot be made. */
export function originationOptions(policy: ClientTlsPolicy, target: OriginationTarget, alpn?: string[]): tls.ConnectionOptions {
  const servername = policy.sni ?? target.host;
  const credential = policy.credential;
  if (credential?.problem !== undefined) throw failed(servername, `credentialName ${credential.secret}: ${credential.problem}`);
  const options: tls.ConnectionOptions = { host: target.address, port: target.port, ...ENVOY_CLIENT_VERSIONS, ...(alpn !== undefined && { ALPNProtocols: alpn }) };
  if (credential !== undefined) options.secureContext = credentialContext(credential, servername);
  // An IP address is not a valid TLS server name (RFC 6066 §3); Node refuses to send one.
  if (net.isIP(servername) === 0) options.servername = servername;
  if (policy.insecureSkipVerify) {
    options.rejectUnauthorized = false;
  } else {
    options.rejectUnauthorized = true;
    if (credential === undefined && policy.caCertificates !== null) options.ca = readPem(policy.caCertificates, 'caCertificates', servername);
    if (credential === undefined && policy.caCrl !== undefined) options.crl = readPem(policy.caCrl, 'caCrl', servername);
    const sans = policy.subjectAltNames;
    options.checkServerIdentity = (name, cert) => {
      if (sans.length > 0) return sanMatches(cert, sans) ? undefined : failed(servername, `the server certificate has none of the subjectAltNames ${sans.join(', ')}`);
      return tls.checkServerIdentity(name, cert);
    };
  }
  if (policy.mode === 'MUTUAL' && credential === undefined) {
    if (policy.clientCertificate === null || policy.privateKey === null) {
      const why = policy.credentialName === null ? '' : ` (credentialName applies at a sidecar only when the rule's workloadSelector chose it)`;
      throw failed(servername, `MUTUAL needs clientCertificate and privateKey${why}`);
    }
    options.cert = readPem(policy.clientCertificate, 'clientCertificate', servername);
    options.key = readPem(policy.privateKey, 'privateKey', servername);
  }
  return options;
}

/** One SecureContext per resolved credential (a config push makes a new object, so a rotated Secret gets its own). */
const credentialContexts = new WeakMap<ClientCredential, tls.SecureContext>();

function credentialContext(c: ClientCredential, servername: string): tls.SecureContext {
  let context = credentialContexts.get(c);
  if (context === undefined) {
    try {
      context = tls.createSecureContext({
        ...ENVOY_CLIENT_VERSIONS,
        ...(c.ca !== undefined && { ca: c.ca.pem }),
        ...(c.crl !== undefined && { crl: c.crl.pem }),
        ...(c.certificate !== undefined && c.privateKey !== undefined && { cert: c.certificate.pem, key: c.privateKey.pem }),
      });
    } catch (err) {
      // The Secret was checked at apply; what fails here names the Secret, never its material.
      throw failed(servername, `credentialName ${c.secret}: ${(err as NodeJS.ErrnoException).code ?? 'unusable TLS material'}`, err);
    }
    credentialContexts.set(c, context);
  }
  return context;
}

/** Open one originated TLS connection; the error names why the handshake or verification failed. */
export function connectOriginating(
  policy: ClientTlsPolicy,
  target: OriginationTarget,
  timeoutMs: number,
  done: (err: Error | null, socket: net.Socket | null) => void,
  /** ALPN to offer: `http/1.1` for HTTP; none for opaque TCP. */
  alpn?: string[],
  /** Bytes sent before the handshake (a PROXY protocol header); undefined: none. */
  preface?: Preface,
): void {
  let options: tls.ConnectionOptions;
  try {
    options = originationOptions(policy, target, alpn);
  } catch (err) {
    done(err as Error, null);
    return;
  }
  const servername = policy.sni ?? target.host;
  let settled = false;
  let socket: tls.TLSSocket;
  const raw = preface === undefined ? undefined : dialTcp(target.address, target.port, preface);
  try {
    socket = tls.connect(raw === undefined ? options : { ...options, socket: raw });
  } catch (err) {
    raw?.destroy();
    // A file that is not PEM of the kind its field wants (a CRL that does not parse) fails here, before any socket.
    done(failed(servername, `${(err as Error).message} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, err), null);
    return;
  }
  socket.setNoDelay(true);
  const fail = (err: Error): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    socket.destroy();
    const code = (err as NodeJS.ErrnoException).code;
    done(err instanceof WeftError ? err : failed(servername, code === undefined ? err.message : `${err.message} (${code})`, err), null);
  };
  const timer = setTimeout(() => fail(new Error(`connect timeout after ${timeoutMs} ms`)), timeoutMs);
  // `on`, not `once`: over a socket of its own dialling a refused connect is reported by both.
  socket.on('error', fail);
  socket.once('secureConnect', () => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    socket.removeListener('error', fail);
    done(null, socket);
  });
}

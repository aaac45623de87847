/**
 * One Gateway server's TLS, ready for handshakes: the SecureContext (certificates, client CA and CRL, protocol
 * versions, ciphers), whether a client certificate is asked for and required, and the checks Node's chain
 * verification does not make (subjectAltNames, SPKI and certificate hashes). Built once per config push (or
 * certificate rotation), so a changed Secret is served on new connections while open ones keep theirs.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import tls from 'node:tls';
import type { ServerTlsConfig } from '../../proxyconfig/gateway-types.js';
import type { SvidState } from '../tls/workload-certificate.js';

/** ALPN offered by HTTPS servers, Envoy's order for an HTTP connection manager with codec AUTO. */
export const HTTPS_ALPN: readonly string[] = ['h2', 'http/1.1'];

export interface ServerTlsRuntime {
  readonly context: tls.SecureContext | undefined;
  readonly requestCert: boolean;
  /** Node refuses an unverified client certificate during the handshake. */
  readonly rejectUnauthorized: boolean;
  /** After the handshake: why this client may not go on, or undefined. */
  checkPeer(socket: tls.TLSSocket): string | undefined;
  /** Why no handshake can succeed (no certificate), for the log. */
  readonly problem: string | undefined;
}

type PemSource = { secret: string; pem: string } | { file: string };

function readPem(src: PemSource): string {
  return 'pem' in src ? src.pem : fs.readFileSync(src.file, 'utf8');
}

/** Reads files named by the config (a failure rejects the push); `svid` serves ISTIO_MUTUAL. */
export function buildServerTls(cfg: ServerTlsConfig, svid: SvidState | undefined): ServerTlsRuntime {
  const mutual = cfg.mode === 'MUTUAL' || cfg.mode === 'ISTIO_MUTUAL';
  const optional = cfg.mode === 'OPTIONAL_MUTUAL';
  const base: tls.SecureContextOptions = {
    minVersion: cfg.minProtocolVersion,
    maxVersion: cfg.maxProtocolVersion,
    ...(cfg.cipherSuites.length > 0 ? { ciphers: cfg.cipherSuites.join(':') } : {}),
  };
  let context: tls.SecureContext | undefined;
  let problem = cfg.problem;
  if (cfg.mode === 'ISTIO_MUTUAL') {
    if (svid === undefined) problem = 'no workload certificate yet';
    else context = tls.createSecureContext({ ...base, key: svid.keyPem, cert: svid.certChainPem.join('\n'), ca: svid.trustBundlePem });
  } else if (cfg.certificates.length > 0) {
    context = tls.createSecureContext({
      ...base,
      key: cfg.certificates.map((c) => ({ pem: readPem(c.privateKey) })),
      cert: cfg.certificates.map((c) => readPem(c.chain)),
      ...(cfg.clientCa ? { ca: readPem(cfg.clientCa) } : {}),
      ...(cfg.clientCrl ? { crl: readPem(cfg.clientCrl) } : {}),
    });
  }
  const spki = new Set(cfg.verifyCertificateSpki);
  const hashes = new Set(cfg.verifyCertificateHash);
  const sans = cfg.subjectAltNames;
  return {
    context,
    problem,
    requestCert: mutual || optional,
    rejectUnauthorized: mutual,
    checkPeer(socket) {
      const peer = socket.getPeerX509Certificate();
      if (peer === undefined) return mutual ? 'no client certificate' : undefined;
      // OPTIONAL_MUTUAL: a certificate need not be sent, but one that is sent must verify.
      const unverified = chainVerifyError(socket);
      if (unverified !== undefined) return `client certificate not trusted: ${unverified}`;
      if (sans.length > 0 && !subjectAltNames(peer.subjectAltName).some((n) => sans.includes(n))) return 'client certificate has none of the subjectAltNames';
      if (spki.size > 0) {
        const der = peer.publicKey.export({ type: 'spki', format: 'der' });
        if (!spki.has(createHash('sha256').update(der).digest('base64'))) return 'client certificate public key is not in verifyCertificateSpki';
      }
      if (hashes.size > 0 && !hashes.has(createHash('sha256').update(peer.raw).digest('hex'))) return 'client certificate is not in verifyCertificateHash';
      return undefined;
    },
  };
}

/** `DNS:a, URI:spiffe://x, IP Address:1.2.3.4, email:e` as the bare names. */
function subjectAltNames(field: string | undefined): string[] {
  if (field === undefined) return [];
  return field.split(', ').map((entry) => entry.slice(entry.indexOf(':') + 1));
}

/**
 * OpenSSL's verdict on the client's chain. A TLSSocket made around a stream (as here, to replay the ClientHello)
 * is not judged by Node: only tls.Server's own connection listener reads this verdict, through the handle's
 * verifyError, so the same call is made here. Without that handle the chain counts as unverified (fail closed).
 */
function chainVerifyError(socket: tls.TLSSocket): string | undefined {
  const handle = (socket as unknown as { _handle?: { verifyError?: () => (Error & { code?: string }) | null } })._handle;
  if (typeof handle?.verifyError !== 'function') return 'cannot read the verification result';
  const err = handle.verifyError();
  return err === null ? undefined : (err.code ?? err.message);
}

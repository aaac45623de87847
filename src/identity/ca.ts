/**
 * The mesh CA: signs workload CSRs into X.509-SVIDs and publishes the trust bundle. It runs either on its own
 * self-signed root (made on first start, kept in a state directory) or as an intermediate under an
 * operator's root, in which case the bundle is that root and each SVID is served with the intermediates.
 */
import { X509Certificate as NodeX509 } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { WeftError } from '../errors.js';
import { x509 } from './x509-runtime.js';
import { importCaSigningKey } from './ca-signing-key.js';
import { loadOrCreateRootFiles } from './ca-state-dir.js';
import { acceptCsr } from './csr.js';
import { createRootCa, randomSerial } from './root-ca.js';
import { parseSpiffeId } from './spiffe-id.js';
import { authorityKeyIdExtension, encodeSvid, subjectKeyId } from './svid-profile.js';
import type { IssuerProfile } from './svid-profile.js';
import { encodePem, splitPemCertificates } from './pem.js';

/** SVIDs start a minute in the past so a peer whose clock lags slightly accepts them at once. */
export const SVID_BACKDATE_MS = 60_000;

export interface CaOptions {
  /** Milliseconds since the epoch; defaults to Date.now. Drives notBefore/notAfter of everything issued. */
  clock?: () => number;
  /** Put `spiffe://<trustDomain>` into a newly created root as its URI SAN. */
  trustDomain?: string;
}

export interface IssuedSvid {
  readonly certPem: string;
  /** The SVID followed by the intermediates up to (not including) the bundle's root: what a TLS peer sends. */
  readonly chainPem: string;
  readonly notAfter: Date;
}

function caInvalid(message: string, cause?: unknown): WeftError {
  return new WeftError('CA_INVALID', message, { cause });
}

function parseCaCert(pem: string, label: string): x509.X509Certificate {
  try {
    return new x509.X509Certificate(pem);
  } catch (err) {
    throw caInvalid(`${label} is not a readable X.509 certificate`, err);
  }
}

function isSelfSigned(cert: NodeX509): boolean {
  return cert.checkIssued(cert) && cert.verify(cert.publicKey);
}

/** Intermediates above `ca` (in order) and the root(s) it chains to, from an operator-supplied chain file. */
function resolveChain(ca: NodeX509, chain: NodeX509[]): { intermediates: NodeX509[]; roots: NodeX509[] } {
  if (isSelfSigned(ca)) return { intermediates: [], roots: [ca, ...chain.filter(isSelfSigned)] };
  const intermediates: NodeX509[] = [];
  let current = ca;
  for (let depth = 0; depth <= chain.length; depth++) {
    const issuer = chain.find((c) => c !== current && current.checkIssued(c) && current.verify(c.publicKey));
    if (issuer === undefined) break;
    if (isSelfSigned(issuer)) return { intermediates, roots: chain.filter(isSelfSigned) };
    if (!issuer.ca) throw caInvalid(`chain certificate ${issuer.subject} is not a CA`);
    intermediates.push(issuer);
    current = issuer;
  }
  throw caInvalid(`CA certificate ${ca.subject} does not chain to a self-signed root in the chain file`);
}

export class CertificateAuthority {
  readonly #issuer: IssuerProfile;
  readonly #clock: () => number;
  readonly #notAfterLimit: number;
  readonly #servedChainPem: string;
  readonly #bundlePem: string;
  readonly caCertPem: string;

  private constructor(issuer: IssuerProfile, cert: x509.X509Certificate, intermediates: NodeX509[], roots: NodeX509[], clock: () => number) {
    this.#issuer = issuer;
    this.#clock = clock;
    this.caCertPem = cert.toString('pem');
    const chainValidTo = [cert.notAfter.getTime(), ...intermediates.map((c) => Date.parse(c.validTo))];
    // An SVID outliving any certificate on its path would fail validation early, so cap at the soonest.
    this.#notAfterLimit = Math.min(...chainValidTo);
    const isRoot = roots.some((r) => r.raw.equals(Buffer.from(cert.rawData)));
    this.#servedChainPem = (isRoot ? [] : [this.caCertPem, ...intermediates.map((c) => c.toString())]).join('');
    this.#bundlePem = roots.map((r) => r.toString()).join('');
  }

  /** Loads the root from `dir`, or creates and stores one on first start. */
  static async loadOrCreate(dir: string, options: CaOptions = {}): Promise<CertificateAuthority> {
    const clock = options.clock ?? Date.now;
    const { root } = await loadOrCreateRootFiles(dir, () =>
      createRootCa({ now: clock(), ...(options.trustDomain === undefined ? {} : { trustDomain: options.trustDomain }) }),
    );
    return CertificateAuthority.fromPem({ certPem: root.certPem, keyPem: root.keyPem }, options);
  }

  /** An operator-provided CA (usually an intermediate); `chainFile` holds the certificates up to the root. */
  static async fromFiles(
    files: { certFile: string; keyFile: string; chainFile?: string },
    options: CaOptions = {},
  ): Promise<CertificateAuthority> {
    const read = (path: string): Promise<string> =>
      readFile(path, 'utf8').catch((err: unknown) => {
        throw caInvalid(`cannot read ${path}`, err);
      });
    const [certPem, keyPem, chainPem] = await Promise.all([
      read(files.certFile),
      read(files.keyFile),
      files.chainFile === undefined ? Promise.resolve('') : read(files.chainFile),
    ]);
    return CertificateAuthority.fromPem({ certPem, keyPem, chainPem }, options);
  }

  static async fromPem(
    pems: { certPem: string; keyPem: string; chainPem?: string },
    options: CaOptions = {},
  ): Promise<CertificateAuthority> {
    const cert = parseCaCert(pems.certPem, 'CA certificate');
    const basic = cert.getExtension(x509.BasicConstraintsExtension);
    if (basic === null || !basic.ca) throw caInvalid(`${cert.subject} is not a CA certificate (basicConstraints CA:true missing)`);
    const usage = cert.getExtension(x509.KeyUsagesExtension);
    if (usage !== null && (usage.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
      throw caInvalid(`${cert.subject} may not sign certificates (keyUsage lacks keyCertSign)`);
    }
    const key = importCaSigningKey(pems.keyPem);
    if (!key.spki.equals(Buffer.from(cert.publicKey.rawData))) {
      throw caInvalid(`CA private key does not match the public key of ${cert.subject}`);
    }
    const nodeCert = new NodeX509(Buffer.from(cert.rawData));
    const chain = splitPemCertificates(pems.chainPem ?? '')
      .map((pem) => new NodeX509(pem))
      .filter((c) => !c.raw.equals(nodeCert.raw));
    const { intermediates, roots } = resolveChain(nodeCert, chain);
    const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
    const issuer: IssuerProfile = {
      issuerName: new Uint8Array(cert.subjectName.toArrayBuffer()),
      signatureAlgorithm: key.signatureAlgorithm,
      authorityKeyId: authorityKeyIdExtension(ski === null ? subjectKeyId(key.spki) : Buffer.from(ski.keyId, 'hex')),
      sign: key.sign,
    };
    return new CertificateAuthority(issuer, cert, intermediates, roots, options.clock ?? Date.now);
  }

  /** The roots peers must trust, as concatenated PEM. */
  trustBundlePem(): string {
    return this.#bundlePem;
  }

  get notAfter(): Date {
    return new Date(this.#notAfterLimit);
  }

  /**
   * Issues an X.509-SVID for `spiffeId` to the holder of the CSR's key. The caller has already decided the
   * requester is entitled to `spiffeId` (bootstrap token or mTLS peer identity); the CSR must ask for exactly it.
   */
  async signCsr(csrPem: string, request: { spiffeId: string; ttlMs: number }): Promise<IssuedSvid> {
    const { spiffeId, ttlMs } = request;
    if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new TypeError(`ttlMs must be a positive number, got ${ttlMs}`);
    parseSpiffeId(spiffeId);
    const now = this.#clock();
    if (now >= this.#notAfterLimit) {
      throw caInvalid(`CA certificate expired at ${new Date(this.#notAfterLimit).toISOString()}`);
    }
    const csr = acceptCsr(csrPem, spiffeId);
    // X.509 times have whole seconds; report exactly what the certificate says.
    const notBefore = Math.floor((now - SVID_BACKDATE_MS) / 1000) * 1000;
    const notAfter = Math.floor(Math.min(now + ttlMs, this.#notAfterLimit) / 1000) * 1000;
    const der = encodeSvid(this.#issuer, {
      serial: randomSerial(),
      notBefore,
      notAfter,
      spiffeId,
      spki: csr.spki,
      keyType: csr.keyType,
    });
    const certPem = encodePem('CERTIFICATE', der);
    return { certPem, chainPem: certPem + this.#servedChainPem, notAfter: new Date(notAfter) };
  }
}

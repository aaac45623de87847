/**
 * The proxy's own key and its certificate signing request. The private key is made here, in the proxy
 * process, and never leaves it: only the CSR (public key + SPIFFE ID, signed) goes to the control plane.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import type { webcrypto } from 'node:crypto';
import { x509 } from './x509-runtime.js';
import { parseSpiffeId } from './spiffe-id.js';

const EC_P256: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const ECDSA_SHA256: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };

export interface WorkloadKey {
  /** PKCS#8 PEM, the form node:tls `key` accepts. */
  readonly privateKeyPem: string;
  /** SubjectPublicKeyInfo PEM. */
  readonly publicKeyPem: string;
  readonly cryptoKeyPair: webcrypto.CryptoKeyPair;
}

/** A fresh ECDSA P-256 key pair for one workload. */
export async function generateWorkloadKey(): Promise<WorkloadKey> {
  // Extractable so the PKCS#8 PEM can be handed to node:tls; it still never leaves this process.
  const pair = await crypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']);
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', pair.privateKey);
  const key = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
  return {
    privateKeyPem: key.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString(),
    cryptoKeyPair: pair,
  };
}

/**
 * A PKCS#10 CSR with an empty subject and the SPIFFE ID as its only URI SAN: the CA reads identity from
 * the SAN alone (X509-SVID section 2), so nothing else is asked for.
 */
export async function createCsr(key: Pick<WorkloadKey, 'cryptoKeyPair'>, spiffeId: string): Promise<string> {
  const id = parseSpiffeId(spiffeId).toString();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys: key.cryptoKeyPair,
    signingAlgorithm: ECDSA_SHA256,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: id }])],
  });
  return csr.toString('pem');
}

/**
 * What a gateway needs to terminate TLS for one Gateway server: the certificate it serves, how it judges client
 * certificates, and the protocol limits. Certificates from a Secret arrive inline, and only in the configs of the
 * gateways whose Gateways name that Secret; certificates from files are read by the gateway from its own disk.
 */
import { z } from 'zod';

/** Node's names for TLS versions (Istio's TLSV1_2 is `TLSv1.2`). */
export const tlsVersion = z.enum(['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']);

const pemFromSecret = z.strictObject({
  /** `namespace/name` of the Secret, for logs (never the material). */
  secret: z.string(),
  pem: z.string(),
});
const pemFromFile = z.strictObject({ file: z.string() });

export const serverTls = z.strictObject({
  /** ISTIO_MUTUAL serves the gateway's own SVID and requires a client certificate from the mesh's CA. */
  mode: z.enum(['SIMPLE', 'MUTUAL', 'OPTIONAL_MUTUAL', 'ISTIO_MUTUAL']),
  /**
   * The certificates served (two with credentialNames or tlsCertificates: RSA and ECDSA, chosen by what the client
   * supports). Empty with ISTIO_MUTUAL (the gateway's own SVID), or when the named Secret does not exist: every
   * handshake for this server is then refused, as Envoy's is while SDS has no certificate.
   */
  certificates: z.array(z.strictObject({ chain: z.union([pemFromSecret, pemFromFile]), privateKey: z.union([pemFromSecret, pemFromFile]) })),
  /** Roots a client certificate must chain to (MUTUAL, OPTIONAL_MUTUAL). */
  clientCa: z.union([pemFromSecret, pemFromFile]).optional(),
  /** Revoked client certificates (caCrl), PEM. */
  clientCrl: z.union([pemFromSecret, pemFromFile]).optional(),
  /** Why a certificate is missing, for the gateway's log. */
  problem: z.string().optional(),
  /** A client certificate must carry one of these SANs (DNS, URI, IP or e-mail); empty: any. */
  subjectAltNames: z.array(z.string()),
  /** base64 SHA-256 of a client certificate's SubjectPublicKeyInfo; empty: any. */
  verifyCertificateSpki: z.array(z.string()),
  /** hex SHA-256 of a client certificate (lower case, no colons); empty: any. */
  verifyCertificateHash: z.array(z.string()),
  minProtocolVersion: tlsVersion,
  maxProtocolVersion: tlsVersion,
  /** OpenSSL cipher names for TLS 1.2; empty: Node's defaults. */
  cipherSuites: z.array(z.string()),
});

export type ServerTlsConfig = z.infer<typeof serverTls>;
export type TlsVersion = z.infer<typeof tlsVersion>;

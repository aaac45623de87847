/**
 * A DestinationRule's `credentialName` as the proxy that uses it receives it: the Secret's client certificate, key,
 * CA bundle and CRL inline. The control plane resolves it only for the proxies Istio applies it at (gateways, and
 * sidecars a workloadSelector chose), from the Secret in that proxy's own namespace, so key material reaches no
 * other proxy; a private key travels as `privateKey: { secret, pem }`, the shape every redaction hides.
 */
import { z } from 'zod';

const pemFromSecret = z.strictObject({
  /** `namespace/name` of the Secret the value came from, for logs (never the material). */
  secret: z.string(),
  pem: z.string(),
});

export const clientCredential = z.strictObject({
  /** `namespace/name` of the Secret `credentialName` named. */
  secret: z.string(),
  /** The client certificate chain presented with MUTUAL. */
  certificate: pemFromSecret.optional(),
  privateKey: pemFromSecret.optional(),
  /** Roots the server's certificate must chain to: the Secret's `ca.crt`/`cacert`, else the `<name>-cacert` Secret's. */
  ca: pemFromSecret.optional(),
  /** Revoked server certificates: the Secret's `ca.crl`/`crl`. */
  crl: pemFromSecret.optional(),
  /** Why no connection can be made with it (a missing Secret or key), said by every failed connection. */
  problem: z.string().optional(),
});

export type ClientCredential = z.infer<typeof clientCredential>;

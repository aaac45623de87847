/**
 * TLS that is not the mesh's, on a port that does not require the mesh's: passed through to the app untouched, as
 * Istio's inbound filter chains do. Under DISABLE every TLS connection is the app's own (Istio terminates nothing
 * there); under PERMISSIVE a ClientHello that is not mesh mTLS is too; STRICT takes only mesh mTLS.
 * Istio tells mesh mTLS apart by its ALPN (`istio-peer-exchange`, `istio*`); weft's callers offer only `http/1.1` or
 * no ALPN, but always name the service port in Istio's SNI, `outbound_.<port>_._.<fqdn>` (mtls-connect.ts and the
 * control plane's JWKS fetcher), so the SNI is the mark. A client that fakes it meets the mTLS server and its
 * certificate check.
 */
import type { CompiledInbound } from '../config/compiled-config.js';

/**
 * The app port to pipe this TLS connection to untouched, or undefined to take it into the mesh's mTLS server.
 * `capturedPort` is where a redirected connection was dialled; `sniPort` the app port a mesh SNI names. Without
 * either (loopback mode, an app's own TLS) only a pod with a single app port says where it goes.
 */
export function tlsPassthroughPort(
  inbound: CompiledInbound,
  sni: string | undefined,
  capturedPort: number | undefined,
  sniPort: number | undefined,
): number | undefined {
  const mesh = sni?.startsWith('outbound_.') === true;
  const port = capturedPort ?? (mesh ? sniPort : inbound.appPorts.length === 1 ? inbound.appPorts[0] : undefined);
  if (port === undefined) return undefined;
  const mode = inbound.modes.get(port) ?? inbound.defaultMode;
  return mode === 'DISABLE' || (mode === 'PERMISSIVE' && !mesh) ? port : undefined;
}

/**
 * Whether a workload has a sidecar in front of it. Istio's own annotation says so: `sidecar.istio.io/inject:
 * "false"` is a pod without one (Istio's gateways are such pods: the gateway is the proxy). A workload without a
 * sidecar is reached on its own ports, in plaintext unless a DestinationRule says ISTIO_MUTUAL (auto mTLS only
 * upgrades to mTLS where a sidecar will answer it, as Istio keys it on the `security.istio.io/tlsMode` label).
 */
export const NO_SIDECAR_ANNOTATION = 'sidecar.istio.io/inject';

export function hasSidecar(annotations: Readonly<Record<string, string>> | undefined): boolean {
  return annotations?.[NO_SIDECAR_ANNOTATION] !== 'false';
}

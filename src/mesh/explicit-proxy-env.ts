/**
 * Loopback pods are not captured: an app reaches its sidecar only because its environment names it as the HTTP
 * proxy. `no_proxy` is emptied so that no inherited exception sends mesh traffic around the sidecar.
 */
export function explicitProxyEnv(sidecarUrl: string): Record<string, string> {
  return { http_proxy: sidecarUrl, HTTP_PROXY: sidecarUrl, no_proxy: '', NO_PROXY: '' };
}

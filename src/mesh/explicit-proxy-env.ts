/**
 * Loopback pods are not captured: an app reaches its sidecar only because its environment names it as the proxy,
 * so every variable a common client reads must name it, or that client's traffic goes out directly, past egress
 * policy. curl reads `http_proxy` (never `HTTP_PROXY`), `https_proxy`/`HTTPS_PROXY` and, for its other schemes,
 * `all_proxy`/`ALL_PROXY`; undici's EnvHttpProxyAgent and most other clients read both spellings of the first two.
 * An HTTPS call arrives at the sidecar as `CONNECT host:443`, which egress policy judges like any other tunnel.
 * `no_proxy` is emptied so that no inherited exception (`localhost`, a corporate suffix list) sends a call around
 * the sidecar. Node's own http and fetch ignore all of these unless NODE_USE_ENV_PROXY is set (Node 22.21 and 24
 * on; Node 20 has no such switch), so it is set as well.
 */
export function explicitProxyEnv(sidecarUrl: string): Record<string, string> {
  return {
    http_proxy: sidecarUrl,
    HTTP_PROXY: sidecarUrl,
    https_proxy: sidecarUrl,
    HTTPS_PROXY: sidecarUrl,
    all_proxy: sidecarUrl,
    ALL_PROXY: sidecarUrl,
    no_proxy: '',
    NO_PROXY: '',
    NODE_USE_ENV_PROXY: '1',
  };
}

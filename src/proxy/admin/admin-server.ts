/**
 * The proxy's admin listener (Istio's 15020): Prometheus metrics and readiness. Read-only, and nothing on it
 * changes what the proxy does.
 */
import http from 'node:http';
import type { ProxyRuntime } from '../proxy-runtime.js';
import type { ProxyMetrics } from '../telemetry/proxy-metrics.js';

export function createAdminServer(rt: ProxyRuntime, metrics: ProxyMetrics): http.Server {
  return http.createServer((req, res) => {
    if (req.method !== 'GET') {
      res.writeHead(405).end();
      return;
    }
    if (req.url === '/stats/prometheus') {
      metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(text);
        },
        () => res.writeHead(500).end(),
      );
      return;
    }
    if (req.url === '/healthz/ready') {
      const ready = rt.config !== undefined && rt.cert.ready;
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(ready ? 'ready\n' : 'not ready: waiting for certificate and configuration\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  });
}

import type { PortProtocol } from '../../proxyconfig/types.js';

/**
 * Istio's protocol selection: `appProtocol` first, then the port name's prefix (`http-web`, `grpc`, `tcp-db`).
 * Unknown ports are treated as HTTP, the only protocol the loopback mode carries.
 */
export function portProtocol(name: string | undefined, appProtocol: string | undefined): PortProtocol {
  const fromApp = appProtocol ? byName(appProtocol.toLowerCase()) : undefined;
  if (fromApp) return fromApp;
  const prefix = (name ?? '').toLowerCase().split('-')[0] ?? '';
  return byName(prefix) ?? 'http';
}

function byName(p: string): PortProtocol | undefined {
  switch (p) {
    case 'http':
      return 'http';
    case 'http2':
    case 'kubernetes.io/h2c':
      return 'http2';
    case 'grpc':
    case 'grpc-web':
      return 'grpc';
    case 'tcp':
    case 'mongo':
    case 'mysql':
    case 'redis':
      return 'tcp';
    case 'tls':
    case 'https':
      return 'tls';
    default:
      return undefined;
  }
}

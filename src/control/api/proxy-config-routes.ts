/**
 * What a proxy runs, for `weft proxy-config` and `weft route check`: the config it last ACKed (the push server keeps
 * it), and on request its runtime report (endpoint health, certificate metadata), asked of the proxy itself over
 * its push stream. Both are read access to ProxyStatus, as `weft status` is.
 */
import { WeftError } from '../../errors.js';
import type { ProxyConfig } from '../../proxyconfig/types.js';
import type { ProxyRuntimeReport } from '../../push/runtime-report.js';
import type { RunningConfig } from '../acked-configs.js';
import { withoutPrivateKeys } from '../secrets/redact-secret.js';
import type { ProxyStatus } from '../push-server.js';
import type { ApiDeps, RouteRequest } from './routes.js';

/** The push server's view of the proxies, as the API needs it. */
export interface ProxyObservation {
  runningConfig(id: string): { status: ProxyStatus; running: RunningConfig | undefined } | undefined;
  requestRuntime(id: string): Promise<ProxyRuntimeReport>;
}

export interface RunningProxyConfig {
  proxy: ProxyStatus;
  /** When the proxy ACKed the config shown. */
  ackedAt: string;
  config: ProxyConfig;
  /** A newer config the proxy refused: it runs `config` instead. */
  nacked: { version: string; reason: string; at: string } | null;
}

function proxyId(req: RouteRequest): string {
  const role = req.params['role'] ?? '';
  if (role !== 'sidecar' && role !== 'gateway') throw new WeftError('BAD_REQUEST', `proxy role must be sidecar or gateway, not "${role}"`, { status: 400 });
  return `${role}/${req.params['namespace'] ?? ''}/${req.params['name'] ?? ''}`;
}

function observation(deps: ApiDeps): ProxyObservation {
  if (deps.proxies === undefined) throw new WeftError('NOT_FOUND', 'this control plane does not serve proxy configs', { status: 404 });
  return deps.proxies;
}

export async function readProxyConfig(deps: ApiDeps, req: RouteRequest): Promise<RunningProxyConfig> {
  const id = proxyId(req);
  const seen = observation(deps).runningConfig(id);
  if (seen === undefined) throw new WeftError('NOT_FOUND', `proxy ${id} has not connected to this control plane`, { status: 404, detail: { proxy: id } });
  const { status, running } = seen;
  if (running === undefined) {
    const why = status.lastNack ? `; it refused ${status.lastNack.version}: ${status.lastNack.reason}` : '';
    throw new WeftError('NOT_FOUND', `proxy ${id} has not ACKed a config since this control plane started${why}`, { status: 404, detail: { proxy: id } });
  }
  const nack = status.lastNack;
  return {
    proxy: status,
    ackedAt: running.ackedAt,
    // A gateway's served certificates and a proxy's DestinationRule credentials carry private keys: never shown.
    config: withoutPrivateKeys(running.config),
    nacked: nack !== null && nack.version !== running.config.version && nack.at >= running.ackedAt ? nack : null,
  };
}

export async function readProxyRuntime(deps: ApiDeps, req: RouteRequest): Promise<ProxyRuntimeReport> {
  return observation(deps).requestRuntime(proxyId(req));
}

/**
 * Test fixture: a ProxyRuntime whose handles do nothing unless a test gives its own (a config, a certificate, a
 * telemetry sink, a resolver). One place to grow when the runtime gains a handle, instead of a copy per test file.
 */
import { systemClock } from '../clock.js';
import { EndpointRegistry } from './balance/endpoint-registry.js';
import type { ProxyRuntime } from './proxy-runtime.js';
import type { WorkloadCertificate } from './tls/workload-certificate.js';
import { EndpointPools } from './upstream/endpoint-pools.js';
import { H2SessionPools } from './http2/h2-session-pool.js';

/** No key and no chain: for tests whose every hop is plaintext. */
export const NO_CERTIFICATE = { current: { keyPem: undefined, certChainPem: [], trustBundlePem: [] } } as unknown as WorkloadCertificate;

export function testRuntime(handles: Partial<ProxyRuntime> = {}): ProxyRuntime {
  const rt: Omit<ProxyRuntime, 'h2Pools'> & Partial<Pick<ProxyRuntime, 'h2Pools'>> = {
    config: undefined,
    cert: NO_CERTIFICATE,
    pools: new EndpointPools(undefined),
    endpoints: new EndpointRegistry(systemClock),
    random: Math.random,
    clock: systemClock,
    telemetry: { record: () => undefined },
    log: { info: () => undefined, warn: () => undefined },
    podIP: '127.0.0.1',
    resolver: { resolve: (host) => Promise.resolve(host) },
    requestJwksRefresh: () => undefined,
    ...handles,
  };
  // Sessions with the certificate the test gave, as the proxy's own are made with its own.
  return { ...rt, h2Pools: rt.h2Pools ?? new H2SessionPools(rt.cert, rt.clock) };
}

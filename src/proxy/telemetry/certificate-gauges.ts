/**
 * The proxy's workload certificate as gauges, read at scrape time: when it became valid and when it expires, so an
 * alert can fire when less than a fifth of its life is left (`(not_after - time()) / (not_after - not_before) < 0.2`),
 * whatever TTL MeshConfig sets.
 */
import { Gauge } from 'prom-client';
import type { Registry } from 'prom-client';

export interface CertificateLifetime {
  /** Milliseconds since the epoch. */
  notBefore: number;
  notAfter: number;
}

export function certificateGauges(registry: Registry, workload: string, current: () => CertificateLifetime | undefined): void {
  const gauge = (name: string, help: string, pick: (c: CertificateLifetime) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['workload'],
      registers: [registry],
      collect() {
        const c = current();
        this.reset();
        if (c !== undefined) this.set({ workload }, pick(c) / 1000);
      },
    });
  };
  gauge('weft_certificate_not_before_timestamp_seconds', "When this proxy's workload certificate became valid (Unix seconds)", (c) => c.notBefore);
  gauge('weft_certificate_expiration_timestamp_seconds', "When this proxy's workload certificate expires (Unix seconds)", (c) => c.notAfter);
}

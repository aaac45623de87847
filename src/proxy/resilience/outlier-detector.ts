/**
 * Passive outlier detection with Envoy's semantics, as Istio configures it (consecutive 5xx, consecutive gateway
 * errors, consecutive local-origin failures; no success-rate detectors). Hand-written: no library implements
 * Envoy's rules (immediate ejection at the threshold, the max-ejection-percent check, ejection time = base ×
 * a multiplier that grows per ejection and decays per healthy interval, capped at max_ejection_time, un-ejection
 * only at an interval sweep), and they must hold exactly for Istio's DestinationRule to mean what it says.
 *
 * The per-host counters live on the host's own state object (kept by the endpoint registry, so a config push does
 * not reset them); the detector holds only the settings and the current host list. Time comes from the clock.
 */
import type { Clock } from '../../clock.js';
import type { OutlierDetectionPolicy } from '../../proxyconfig/types.js';

/** What the detector reads and writes on a host. */
export interface OutlierHostState {
  readonly address: string;
  ejected: boolean;
  consecutive5xx: number;
  consecutiveGatewayErrors: number;
  consecutiveLocalOriginFailures: number;
  /** Envoy's eject-time backoff: grows by one per ejection, shrinks by one per healthy sweep. */
  ejectionMultiplier: number;
  /** When the host was last ejected (clock ms); meaningful while `ejected`. */
  ejectedAt: number;
  timesEjected: number;
}

export function freshOutlierState(): Omit<OutlierHostState, 'address'> {
  return { ejected: false, consecutive5xx: 0, consecutiveGatewayErrors: 0, consecutiveLocalOriginFailures: 0, ejectionMultiplier: 0, ejectedAt: 0, timesEjected: 0 };
}

/** Failures the proxy saw itself, before or instead of an upstream response. */
export type LocalOriginResult = 'connect-failed' | 'timeout' | 'connect-success-final';

export type EjectionCause = 'consecutive-5xx' | 'consecutive-gateway-errors' | 'consecutive-local-origin-failures';

export interface OutlierEvents {
  /** A host's ejected flag changed (the host set must recompute its candidates). */
  healthChanged(): void;
  ejected?(address: string, cause: EjectionCause): void;
  /** The max-ejection-percent check refused an ejection (Envoy's ejections_overflow). */
  overflow?(address: string, cause: EjectionCause): void;
}

const isGatewayError = (status: number): boolean => status === 502 || status === 503 || status === 504;

export class OutlierDetector<H extends OutlierHostState> {
  private hosts: readonly H[] = [];

  constructor(
    private readonly settings: OutlierDetectionPolicy,
    private readonly clock: Clock,
    private readonly events: OutlierEvents,
  ) {}

  get intervalMs(): number {
    return this.settings.intervalMs;
  }

  /** The cluster's current hosts: the pool max-ejection-percent is measured against. */
  setHosts(hosts: readonly H[]): void {
    this.hosts = hosts;
  }

  /**
   * An upstream answered with an HTTP status (a gRPC status already mapped by grpcStatusToHttp). 5xx counts
   * towards consecutive 5xx, 502/503/504 also towards gateway errors; anything else resets both.
   */
  reportStatus(host: H, status: number): void {
    if (status < 500 || status > 599) {
      host.consecutive5xx = 0;
      host.consecutiveGatewayErrors = 0;
      return;
    }
    if (isGatewayError(status)) {
      host.consecutiveGatewayErrors++;
      if (host.consecutiveGatewayErrors === this.settings.consecutiveGatewayErrors) {
        this.tryEject(host, 'consecutive-gateway-errors');
        host.consecutiveGatewayErrors = 0;
      }
    } else host.consecutiveGatewayErrors = 0;
    host.consecutive5xx++;
    if (host.consecutive5xx === this.settings.consecutive5xx) {
      this.tryEject(host, 'consecutive-5xx');
      host.consecutive5xx = 0;
    }
  }

  /**
   * A failure (or final success) the proxy saw itself. Without splitExternalLocalOriginErrors Envoy folds these
   * into the HTTP counters: a failed connect is a 503, a timeout a 504, a final connect success a 200.
   */
  reportLocalOrigin(host: H, result: LocalOriginResult): void {
    if (!this.settings.splitExternalLocalOriginErrors) {
      this.reportStatus(host, result === 'connect-failed' ? 503 : result === 'timeout' ? 504 : 200);
      return;
    }
    if (result === 'connect-success-final') {
      host.consecutiveLocalOriginFailures = 0;
      return;
    }
    host.consecutiveLocalOriginFailures++;
    if (host.consecutiveLocalOriginFailures === this.settings.consecutiveLocalOriginFailures) {
      this.tryEject(host, 'consecutive-local-origin-failures');
      host.consecutiveLocalOriginFailures = 0;
    }
  }

  /**
   * The interval sweep: return hosts whose ejection time is over (counters cleared, so a few new errors do not
   * eject them again at once), and let the multiplier of hosts that stayed healthy decay.
   */
  sweep(): void {
    const now = this.clock.now();
    const { baseEjectionTimeMs: base, maxEjectionTimeMs: max } = this.settings;
    let changed = false;
    for (const h of this.hosts) {
      if (!h.ejected) {
        if (h.ejectionMultiplier > 0) h.ejectionMultiplier--;
        continue;
      }
      const ejectionMs = Math.min(base * h.ejectionMultiplier, Math.max(max, base));
      if (now - h.ejectedAt >= ejectionMs) {
        h.ejected = false;
        h.consecutive5xx = 0;
        h.consecutiveGatewayErrors = 0;
        h.consecutiveLocalOriginFailures = 0;
        changed = true;
      }
    }
    if (changed) this.events.healthChanged();
  }

  private tryEject(host: H, cause: EjectionCause): void {
    if (host.ejected) return;
    const ejectedNow = this.hosts.reduce((n, h) => (h.ejected ? n + 1 : n), 0);
    // Envoy's rule, with always_eject_one_host off as Istio leaves it: no ejection that would take the share of
    // ejected hosts past maxEjectionPercent (so with the default 10%, a pool of fewer than ten never ejects).
    if ((100 * (ejectedNow + 1)) / Math.max(1, this.hosts.length) > this.settings.maxEjectionPercent) {
      this.events.overflow?.(host.address, cause);
      return;
    }
    const { baseEjectionTimeMs: base, maxEjectionTimeMs: max } = this.settings;
    if (host.ejectionMultiplier * base < max + base) host.ejectionMultiplier++;
    host.ejected = true;
    host.ejectedAt = this.clock.now();
    host.timesEjected++;
    this.events.ejected?.(host.address, cause);
    this.events.healthChanged();
  }
}

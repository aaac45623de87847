/** Outlier detection on fake time: Envoy's consecutive-error detectors, ejection time, max ejection percent, sweeps. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Clock } from '../../clock.js';
import type { OutlierDetectionPolicy } from '../../proxyconfig/types.js';
import { OutlierDetector, freshOutlierState } from './outlier-detector.js';
import type { EjectionCause, OutlierHostState } from './outlier-detector.js';
import { grpcStatusToHttp } from './grpc-status.js';
import { HostSet } from '../balance/host-set.js';

class FakeClock implements Clock {
  t = 1_000_000;
  now(): number {
    return this.t;
  }
  setTimeout(): NodeJS.Timeout {
    throw new TypeError('the detector schedules nothing itself');
  }
}

interface Host extends OutlierHostState {
  activeRequests: number;
}
const hosts = (n: number): Host[] => Array.from({ length: n }, (_, i) => ({ address: `198.18.0.${i + 1}`, activeRequests: 0, ...freshOutlierState() }));

/** Istio's defaults with outlierDetection set, overridden per test. */
function setup(n: number, o: Partial<OutlierDetectionPolicy> = {}) {
  const clock = new FakeClock();
  const hs = hosts(n);
  const log: string[] = [];
  let healthChanges = 0;
  const detector = new OutlierDetector<Host>(
    {
      consecutive5xx: 5,
      consecutiveGatewayErrors: 0,
      consecutiveLocalOriginFailures: 5,
      splitExternalLocalOriginErrors: false,
      intervalMs: 10_000,
      baseEjectionTimeMs: 30_000,
      maxEjectionTimeMs: 300_000,
      maxEjectionPercent: 100,
      minHealthPercent: 0,
      ...o,
    },
    clock,
    {
      healthChanged: () => healthChanges++,
      ejected: (a: string, c: EjectionCause) => log.push(`ejected ${a} ${c}`),
      overflow: (a: string, c: EjectionCause) => log.push(`overflow ${a} ${c}`),
    },
  );
  detector.setHosts(hs);
  const h = hs[0] as Host;
  const tick = (ms: number): void => {
    clock.t += ms;
    detector.sweep();
  };
  return { clock, hs, h, detector, log, tick, changes: () => healthChanges };
}

const statuses = (d: OutlierDetector<Host>, h: Host, list: number[]): void => list.forEach((s) => d.reportStatus(h, s));

describe('consecutive 5xx', () => {
  test('the fifth consecutive 5xx ejects at once, not at the next sweep', () => {
    const { h, detector, log, changes } = setup(4);
    statuses(detector, h, [500, 503, 500, 502]);
    assert.equal(h.ejected, false);
    detector.reportStatus(h, 500);
    assert.equal(h.ejected, true);
    assert.deepEqual(log, ['ejected 198.18.0.1 consecutive-5xx']);
    assert.equal(changes(), 1);
  });
  test('a non-5xx in between starts the count again', () => {
    const { h, detector } = setup(4);
    statuses(detector, h, [500, 500, 500, 500, 200, 500, 500, 500, 500]);
    assert.equal(h.ejected, false);
    assert.equal(h.consecutive5xx, 4);
  });
  test('4xx resets as well', () => {
    const { h, detector } = setup(4, { consecutive5xx: 2 });
    statuses(detector, h, [500, 404, 500]);
    assert.equal(h.ejected, false);
  });
  test('0 turns the detector off', () => {
    const { h, detector } = setup(4, { consecutive5xx: 0 });
    statuses(detector, h, Array<number>(50).fill(500));
    assert.equal(h.ejected, false);
  });
});

describe('consecutive gateway errors (502, 503, 504)', () => {
  test('three gateway errors eject with consecutiveGatewayErrors: 3', () => {
    const { h, detector, log } = setup(4, { consecutiveGatewayErrors: 3, consecutive5xx: 0 });
    statuses(detector, h, [502, 503, 504]);
    assert.deepEqual(log, ['ejected 198.18.0.1 consecutive-gateway-errors']);
  });
  test('a 500 breaks a run of gateway errors but still counts as a 5xx', () => {
    const { h, detector } = setup(4, { consecutiveGatewayErrors: 3, consecutive5xx: 10 });
    statuses(detector, h, [502, 503, 500, 504]);
    assert.equal(h.ejected, false);
    assert.deepEqual([h.consecutiveGatewayErrors, h.consecutive5xx], [1, 4]);
  });
  test('gRPC UNAVAILABLE counts as 503 (Envoy maps it so); DEADLINE_EXCEEDED as 504; OK resets', () => {
    assert.deepEqual([14, 4, 0, 13, 99].map(grpcStatusToHttp), [503, 504, 200, 500, 500]);
    const { h, detector } = setup(4, { consecutiveGatewayErrors: 2, consecutive5xx: 0 });
    detector.reportStatus(h, grpcStatusToHttp(14));
    detector.reportStatus(h, grpcStatusToHttp(0));
    detector.reportStatus(h, grpcStatusToHttp(14));
    assert.equal(h.ejected, false);
    detector.reportStatus(h, grpcStatusToHttp(14));
    assert.equal(h.ejected, true);
  });
});

describe('local-origin failures', () => {
  test('without the split, a failed connect is a 503 and a timeout a 504', () => {
    const { h, detector, log } = setup(4, { consecutiveGatewayErrors: 2, consecutive5xx: 0 });
    detector.reportLocalOrigin(h, 'connect-failed');
    detector.reportLocalOrigin(h, 'timeout');
    assert.deepEqual(log, ['ejected 198.18.0.1 consecutive-gateway-errors']);
  });
  test('with the split, they count on their own and upstream 5xx do not touch them', () => {
    const { h, detector, log } = setup(4, { splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailures: 3, consecutive5xx: 0 });
    detector.reportLocalOrigin(h, 'connect-failed');
    statuses(detector, h, [503, 503]);
    detector.reportLocalOrigin(h, 'timeout');
    detector.reportLocalOrigin(h, 'connect-success-final');
    detector.reportLocalOrigin(h, 'connect-failed');
    detector.reportLocalOrigin(h, 'connect-failed');
    assert.equal(h.ejected, false);
    detector.reportLocalOrigin(h, 'connect-failed');
    assert.deepEqual(log, ['ejected 198.18.0.1 consecutive-local-origin-failures']);
  });
});

describe('ejection time and the interval sweep', () => {
  test('ejected for baseEjectionTime, returned at the first sweep after it', () => {
    const { h, detector, tick, changes } = setup(4, { consecutive5xx: 1 });
    detector.reportStatus(h, 500);
    tick(10_000);
    tick(10_000);
    assert.equal(h.ejected, true, 'still out after 20s');
    tick(9_999);
    assert.equal(h.ejected, true, 'still out just before 30s');
    tick(1);
    assert.equal(h.ejected, false, 'back at the sweep at 30s');
    assert.equal(changes(), 2);
  });
  test('the second ejection in a row lasts base × 2, the third base × 3', () => {
    const { h, detector, tick } = setup(4, { consecutive5xx: 1 });
    const outFor = (): number => {
      detector.reportStatus(h, 500);
      let t = 0;
      while (h.ejected) {
        tick(10_000);
        t += 10_000;
      }
      return t;
    };
    assert.deepEqual([outFor(), outFor(), outFor()], [30_000, 60_000, 90_000]);
  });
  test('the multiplier decays by one per sweep the host stays healthy', () => {
    const { h, detector, tick } = setup(4, { consecutive5xx: 1 });
    detector.reportStatus(h, 500);
    tick(30_000);
    detector.reportStatus(h, 500);
    assert.equal(h.ejectionMultiplier, 2);
    tick(60_000);
    assert.equal(h.ejected, false);
    tick(10_000);
    tick(10_000);
    assert.equal(h.ejectionMultiplier, 0);
    detector.reportStatus(h, 500);
    tick(30_000);
    assert.equal(h.ejected, false, 'after decaying, one base ejection time again');
  });
  test('ejection time is capped at max_ejection_time (300s)', () => {
    const { h, detector, tick } = setup(4, { consecutive5xx: 1, baseEjectionTimeMs: 100_000 });
    for (let i = 0; i < 6; i++) {
      detector.reportStatus(h, 500);
      while (h.ejected) tick(10_000);
    }
    assert.equal(h.ejectionMultiplier, 4);
    detector.reportStatus(h, 500);
    tick(300_000);
    assert.equal(h.ejected, false);
  });
  test('returning resets the counters, so one more error does not eject again', () => {
    const { h, detector, tick } = setup(4, { consecutive5xx: 3, consecutiveGatewayErrors: 5 });
    statuses(detector, h, [502, 502, 502]);
    assert.equal(h.ejected, true);
    statuses(detector, h, [502, 502]);
    tick(30_000);
    assert.equal(h.ejected, false);
    assert.deepEqual([h.consecutive5xx, h.consecutiveGatewayErrors], [0, 0]);
  });
});

describe('maxEjectionPercent', () => {
  test("Istio's default 10% ejects nothing from a pool of fewer than ten (always_eject_one_host is off)", () => {
    const { h, detector, log } = setup(5, { maxEjectionPercent: 10 });
    statuses(detector, h, [500, 500, 500, 500, 500]);
    assert.equal(h.ejected, false);
    assert.deepEqual(log, ['overflow 198.18.0.1 consecutive-5xx']);
  });
  test('10% of ten hosts: one may be out, not two', () => {
    const { hs, detector } = setup(10, { maxEjectionPercent: 10, consecutive5xx: 1 });
    detector.reportStatus(hs[0] as Host, 500);
    detector.reportStatus(hs[1] as Host, 500);
    assert.deepEqual(hs.map((x) => x.ejected).filter(Boolean).length, 1);
  });
  test('50% of four: two out, the third refused', () => {
    const { hs, detector, log } = setup(4, { maxEjectionPercent: 50, consecutive5xx: 1 });
    for (const x of hs.slice(0, 3)) detector.reportStatus(x, 503);
    assert.deepEqual(hs.map((x) => x.ejected), [true, true, false, false]);
    assert.equal(log[2], 'overflow 198.18.0.3 consecutive-5xx');
  });
  test('100% lets every host go', () => {
    const { hs, detector } = setup(3, { consecutive5xx: 1 });
    for (const x of hs) detector.reportStatus(x, 503);
    assert.deepEqual(hs.map((x) => x.ejected), [true, true, true]);
  });
});

describe('with the host set: ejection narrows the candidates, panic mode widens them again', () => {
  test('minHealthPercent 50: one of four out is fine; three out is panic, so all four serve', () => {
    const { hs, detector } = setup(4, { consecutive5xx: 1, minHealthPercent: 50 });
    const set = new HostSet(hs, 50);
    const sync = (): void => set.healthChanged();
    detector.reportStatus(hs[0] as Host, 503);
    sync();
    assert.deepEqual(set.candidates().map((x) => x.address), ['198.18.0.2', '198.18.0.3', '198.18.0.4']);
    detector.reportStatus(hs[1] as Host, 503);
    detector.reportStatus(hs[2] as Host, 503);
    sync();
    assert.equal(set.panic, true);
    assert.equal(set.candidates().length, 4);
  });
});

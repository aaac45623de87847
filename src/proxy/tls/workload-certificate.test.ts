import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { Clock } from '../../clock.js';
import { CertificateAuthority } from '../../identity/ca.js';
import { createRootCa } from '../../identity/root-ca.js';
import { WorkloadCertificate } from './workload-certificate.js';
import type { CsrSigner, SvidState } from './workload-certificate.js';

const SPIFFE_ID = 'spiffe://example.org/ns/default/sa/reviews';
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

/** Time that moves only when a test says so; timers fire in due order as it passes. */
class FakeClock implements Clock {
  nowMs = T0;
  timers: Array<{ at: number; delay: number; fn: () => void }> = [];
  now(): number {
    return this.nowMs;
  }
  setTimeout(fn: () => void, ms: number): NodeJS.Timeout {
    this.timers.push({ at: this.nowMs + ms, delay: ms, fn });
    return {} as NodeJS.Timeout;
  }
  advance(ms: number): void {
    const until = this.nowMs + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > until) break;
      this.timers.shift();
      this.nowMs = next.at;
      next.fn();
    }
    this.nowMs = until;
  }
}

/** Wait (in real time, briefly) for async work such as key generation and signing to settle. */
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

let ca: CertificateAuthority;
let clock: FakeClock;

before(async () => {
  clock = new FakeClock();
  ca = await CertificateAuthority.fromPem(await createRootCa({ now: T0 - HOUR }), { clock: () => clock.now() });
});

/** A stub of the control plane's CA: signs with a real CA, can be told to fail the next n calls. */
function signer(ttlMs = HOUR): CsrSigner & { calls: number; failNext: number } {
  const s = Object.assign(
    async (csr: string) => {
      s.calls++;
      if (s.failNext > 0) {
        s.failNext--;
        throw new Error('control plane unavailable');
      }
      const svid = await ca.signCsr(csr, { spiffeId: SPIFFE_ID, ttlMs });
      return { certChainPem: [svid.certPem], trustBundlePem: [ca.trustBundlePem()] };
    },
    { calls: 0, failNext: 0 },
  );
  return s;
}

describe('WorkloadCertificate', () => {
  test('not ready before issue; current throws a TypeError', () => {
    const wc = new WorkloadCertificate(SPIFFE_ID, new FakeClock(), () => {});
    assert.equal(wc.ready, false);
    assert.throws(() => wc.current, TypeError);
  });

  test('issue installs a certificate for its own key and tells the rotation listeners', async () => {
    clock.nowMs = T0;
    const rotated: SvidState[] = [];
    const wc = new WorkloadCertificate(SPIFFE_ID, clock, () => {});
    wc.onRotate((s) => rotated.push(s));
    const s = await wc.issue(signer());
    assert.equal(wc.ready, true);
    assert.equal(wc.current, s);
    assert.deepEqual(rotated, [s]);
    assert.equal(s.issuedAt, T0);
    assert.equal(s.notAfter, T0 + HOUR);
    assert.equal(s.notBefore < T0, true, 'notBefore is backdated');
    const leaf = new X509Certificate(s.certChainPem[0]!);
    assert.equal(leaf.subjectAltName, `URI:${SPIFFE_ID}`);
    assert.ok(leaf.checkPrivateKey(createPrivateKey(s.keyPem)));
  });

  test('renews at half-life measured from issue time, with a fresh key, then again at the next half-life', async () => {
    clock.nowMs = T0;
    clock.timers = [];
    const sign = signer();
    const rotated: SvidState[] = [];
    const wc = new WorkloadCertificate(SPIFFE_ID, clock, () => {});
    wc.onRotate((s) => rotated.push(s));
    const first = await wc.issue(sign);
    wc.scheduleRenewal(sign);
    assert.deepEqual(clock.timers.map((t) => t.delay), [HOUR / 2]);

    clock.advance(HOUR / 2 - 1);
    assert.equal(sign.calls, 1, 'nothing before half-life');
    clock.advance(1);
    await until(() => rotated.length === 2, 'the renewal');
    const second = wc.current;
    assert.notEqual(second, first);
    assert.notEqual(second.keyPem, first.keyPem);
    assert.equal(second.issuedAt, T0 + HOUR / 2);
    assert.equal(second.notAfter, T0 + HOUR / 2 + HOUR);
    // The next renewal is half of the new certificate's life after its issue.
    await until(() => clock.timers.length === 1, 'the next renewal timer');
    assert.equal(clock.timers[0]?.at, T0 + HOUR);
    wc.stop();
  });

  test('a certificate issued late in its life renews at once', async () => {
    clock.nowMs = T0;
    clock.timers = [];
    const sign = signer();
    const wc = new WorkloadCertificate(SPIFFE_ID, clock, () => {});
    await wc.issue(sign);
    clock.nowMs = T0 + HOUR * 0.9;
    wc.scheduleRenewal(sign);
    assert.deepEqual(clock.timers.map((t) => t.delay), [0]);
    wc.stop();
  });

  test('a failed renewal retries with doubling backoff, capped at 30 s, and keeps the old certificate meanwhile', async () => {
    clock.nowMs = T0;
    clock.timers = [];
    const sign = signer(HOUR * 4);
    const logs: string[] = [];
    const rotated: SvidState[] = [];
    const wc = new WorkloadCertificate(SPIFFE_ID, clock, (msg) => logs.push(msg));
    wc.onRotate((s) => rotated.push(s));
    const first = await wc.issue(sign);
    wc.scheduleRenewal(sign);
    sign.failNext = 7;

    const delays: number[] = [];
    clock.advance(HOUR * 2);
    for (let attempt = 1; attempt <= 7; attempt++) {
      await until(() => clock.timers.length === 1, `retry ${attempt}`);
      const t = clock.timers[0]!;
      delays.push(t.delay);
      assert.equal(wc.current, first, 'the old certificate keeps serving');
      clock.advance(t.delay);
    }
    assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    await until(() => rotated.length === 2, 'the successful retry');
    assert.equal(sign.calls, 1 + 8);
    assert.equal(logs.filter((m) => m.includes('renewal failed')).length, 7);
    wc.stop();
  });

  test('retries never wait past the certificate: a control plane back before expiry gets the renewal in time', async () => {
    // A 10 s certificate renews at 5 s. The control plane is away from then until 8.5 s, and (as the real one does)
    // refuses a renewal authorised by an expired certificate. Doubling backoff alone would try at 5, 6, 8 and 12 s.
    clock.nowMs = T0;
    clock.timers = [];
    const ttl = 10_000;
    const upAgainAt = T0 + 8_500;
    let expired = 0;
    const wc = new WorkloadCertificate(SPIFFE_ID, clock, () => {}, () => expired++);
    const ok = signer(ttl);
    const attempts: number[] = [];
    const sign: CsrSigner = async (csr) => {
      attempts.push(clock.now() - T0);
      if (clock.now() < upAgainAt) throw new Error('control plane unavailable');
      if (clock.now() >= wc.current.notAfter) throw new Error('certificate request refused (401): renewal needs a valid client certificate');
      return ok(csr);
    };
    await wc.issue(ok);
    wc.scheduleRenewal(sign);
    for (let i = 0; i < 20 && wc.current.notAfter === T0 + ttl && expired === 0; i++) {
      await until(() => clock.timers.length === 1, `renewal timer ${i}`);
      clock.advance(clock.timers[0]!.at - clock.now());
      await until(() => clock.timers.length === 1 || wc.current.notAfter !== T0 + ttl || expired > 0, `attempt ${i} settled`);
    }
    assert.equal(expired, 0, `expired after attempts at ${attempts.join(', ')} ms`);
    assert.ok(wc.current.issuedAt >= upAgainAt && wc.current.issuedAt < T0 + ttl, `renewed at ${wc.current.issuedAt - T0} ms`);
    assert.ok(attempts.every((a) => a < ttl), `every attempt before expiry: ${attempts.join(', ')}`);
    wc.stop();
  });

  test('stop cancels a pending renewal', async () => {
    clock.nowMs = T0;
    clock.timers = [];
    const sign = signer();
    const wc = new WorkloadCertificate(SPIFFE_ID, clock, () => {});
    await wc.issue(sign);
    wc.scheduleRenewal(sign);
    wc.stop();
    clock.advance(HOUR);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(sign.calls, 1);
    wc.scheduleRenewal(sign);
    assert.equal(clock.timers.length, 0, 'a stopped certificate schedules nothing');
  });
});

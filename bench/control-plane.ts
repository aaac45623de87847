/**
 * Control-plane scenarios: CA signing rate and `weft up examples/bookinfo` to the first 200 from the product page.
 * The scale run is in scale-run.ts.
 */
import path from 'node:path';
import 'reflect-metadata';
import { request } from 'undici';
import { CertificateAuthority } from '../src/identity/ca.js';
import { createCsr, generateWorkloadKey } from '../src/identity/workload-key.js';
import { freeListenPort } from './listen-port.js';
import { weftUp } from './weft-mesh.js';

export interface CsrRate {
  csrs: number;
  seconds: number;
  perSecond: number;
}

/** P-256 CSRs signed per second by the CA itself, one thread; the CSRs are made beforehand. */
export async function csrSigningRate(dir: string, count: number): Promise<CsrRate> {
  const ca = await CertificateAuthority.loadOrCreate(dir);
  const spiffeId = 'spiffe://cluster.local/ns/default/sa/bench';
  const key = await generateWorkloadKey();
  // One key, many CSRs: each CSR is still parsed and its signature verified, which is the CA's work.
  const csrs = await Promise.all(Array.from({ length: count }, () => createCsr(key, spiffeId)));
  for (const csr of csrs.slice(0, 20)) await ca.signCsr(csr, { spiffeId, ttlMs: 3600_000 });
  const started = performance.now();
  for (const csr of csrs) await ca.signCsr(csr, { spiffeId, ttlMs: 3600_000 });
  const seconds = (performance.now() - started) / 1000;
  return { csrs: count, seconds, perSecond: count / seconds };
}

export interface BookinfoUp {
  /** From spawning `weft up` to its "mesh is up". */
  meshUpMs: number;
  /** From spawning `weft up` to the first 200 from /productpage through the ingress gateway. */
  firstProductPageMs: number;
}

export async function bookinfoUp(stateDir: string): Promise<BookinfoUp> {
  const started = performance.now();
  const ingressPort = await freeListenPort();
  let first = NaN;
  let polling = true;
  const poll = (async () => {
    while (polling) {
      try {
        const res = await request(`http://127.0.0.1:${ingressPort}/productpage`, { headersTimeout: 5000, bodyTimeout: 5000 });
        await res.body.dump();
        if (res.statusCode === 200) {
          first = performance.now() - started;
          return;
        }
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const mesh = await weftUp([path.join('examples', 'bookinfo')], stateDir, 120_000, ingressPort).catch((err: unknown) => {
    polling = false;
    throw err;
  });
  try {
    const deadline = Date.now() + 60_000;
    while (Number.isNaN(first) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    polling = false;
    await poll;
    return { meshUpMs: mesh.upMs, firstProductPageMs: first };
  } finally {
    await mesh.stop();
  }
}

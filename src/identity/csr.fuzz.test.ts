/**
 * Property-based fuzzing (fast-check) of CSR acceptance at the CA: mutated real CSRs and arbitrary PEM text are
 * refused only with the CA's coded errors, and nothing but the requester's own signed request is ever accepted.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fuzzRuns, mutationsOf, withinTime } from '../../test/support/fuzz.js';
import { isWeftError } from '../errors.js';
import { acceptCsr } from './csr.js';
import { decodePemBlocks, encodePem } from './pem.js';
import { createCsr, generateWorkloadKey } from './workload-key.js';
import type { WorkloadKey } from './workload-key.js';

const WEB = 'spiffe://cluster.local/ns/default/sa/web';
const REFUSALS = new Set(['CSR_INVALID', 'CSR_IDENTITY_MISMATCH', 'CERT_INVALID']);

function refusedWithCode(err: unknown): void {
  assert.ok(isWeftError(err) && REFUSALS.has(err.code), `unexpected ${String(err)}`);
}

describe('CSR acceptance (fuzz)', () => {
  let key: WorkloadKey;
  let csrDer: Buffer;
  before(async () => {
    key = await generateWorkloadKey();
    csrDer = decodePemBlocks(await createCsr(key, WEB))[0]?.der ?? Buffer.alloc(0);
  });

  test('the unmutated CSR is accepted', () => {
    assert.deepEqual(Buffer.from(acceptCsr(encodePem('CERTIFICATE REQUEST', csrDer), WEB).spki), key.spkiDer);
  });

  test('mutations of a real CSR: a coded refusal, or acceptance of the very key that signed it', { timeout: 60_000 }, () => {
    fc.assert(
      fc.property(mutationsOf(csrDer), (der) => {
        try {
          const accepted = withinTime(() => acceptCsr(encodePem('CERTIFICATE REQUEST', der), WEB));
          assert.deepEqual(Buffer.from(accepted.spki), key.spkiDer);
        } catch (err) {
          refusedWithCode(err);
        }
      }),
      fuzzRuns(1500),
    );
  });

  test('arbitrary PEM text and DER bodies are refused with a code', { timeout: 60_000 }, () => {
    const body = fc.oneof(fc.uint8Array({ maxLength: 200 }).map((b) => encodePem('CERTIFICATE REQUEST', b)), fc.string({ maxLength: 300 }));
    fc.assert(
      fc.property(body, (pem) => {
        assert.throws(() => withinTime(() => acceptCsr(pem, WEB)), (err) => (refusedWithCode(err), true));
      }),
      fuzzRuns(1000),
    );
  });
});

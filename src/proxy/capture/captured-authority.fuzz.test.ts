/**
 * Property-based fuzzing (fast-check) of where a captured request is headed: for any Host header and any original
 * destination it never throws; a Host that parses (or none) gives an authority that parses, with the Host's port or
 * the port dialled, and a service's virtual address is always named by its service; a Host that does not parse is
 * passed on unchanged for the outbound server to refuse.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fuzzRuns, textMutationsOf, withinTime } from '../../../test/support/fuzz.js';
import { parseAuthority } from '../http/authority.js';
import { capturedAuthority } from './captured-authority.js';

const services = new Map([
  ['198.19.4.1', 'httpbin.default.svc.cluster.local'],
  ['2001:db8::5', 'v6.default.svc.cluster.local'],
]);
const serviceAt = (address: string): string | undefined => services.get(address);

const address = fc.oneof(fc.constantFrom(...services.keys()), fc.ipV4(), fc.ipV6());
const port = fc.integer({ min: 1, max: 65535 });
const host = fc.option(
  fc.oneof(
    fc.string({ unit: 'binary', maxLength: 30 }),
    textMutationsOf('httpbin:8000', '198.19.4.1:80', '[2001:db8::5]:8080', 'Outside.Example.'),
    fc.tuple(address, fc.option(port, { nil: undefined })).map(([a, p]) => `${a.includes(':') ? `[${a}]` : a}${p ? `:${p}` : ''}`),
  ),
  { nil: undefined },
);

describe('captured authority (fuzz)', () => {
  test('never throws; a parsable or missing Host gives a parsable authority with a port', () => {
    fc.assert(
      fc.property(host, address, port, (h, a, p) => {
        const out = withinTime(() => capturedAuthority(h, { address: a, port: p }, serviceAt));
        const given = h === undefined || h === '' ? undefined : parseAuthority(h);
        if (h !== undefined && h !== '' && given === undefined) {
          assert.equal(out, h);
          return;
        }
        const parsed = parseAuthority(out ?? '');
        assert.ok(parsed !== undefined, `unparsable ${String(out)}`);
        assert.equal(parsed.port, given?.port ?? p);
        const named = given?.host ?? a;
        const service = serviceAt(named);
        if (service !== undefined) assert.equal(parsed.host, service);
      }),
      fuzzRuns(3000),
    );
  });
});

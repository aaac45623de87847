import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DELTA_SECTIONS, configDeltaSchema, parseConfigDelta } from './config-delta.js';
import { isConfigDeltaShape } from './config-delta-shape.js';

const SECTION_KEYS: ReadonlySet<string> = new Set(DELTA_SECTIONS);

// Values near the schema's edges: the right kinds, the wrong kinds, empty strings, unknown keys.
const anyValue = fc.oneof(fc.constant(undefined), fc.constant(null), fc.string({ maxLength: 3 }), fc.integer(), fc.boolean(), fc.array(fc.string({ maxLength: 2 }), { maxLength: 2 }), fc.array(fc.integer(), { maxLength: 2 }), fc.dictionary(fc.string({ maxLength: 2 }), fc.integer(), { maxKeys: 2 }));
const keyed = fc.oneof(anyValue, fc.record({ all: anyValue, set: anyValue, remove: anyValue, order: anyValue, extra: anyValue }, { requiredKeys: [] }));
const outbound = fc.oneof(anyValue, fc.record({ trafficPolicy: anyValue, externalRoutes: anyValue, egressGatewayHosts: anyValue, services: keyed, externals: keyed, other: anyValue }, { requiredKeys: [] }));
const sections = fc.oneof(anyValue, fc.record({ ...Object.fromEntries(DELTA_SECTIONS.map((k) => [k, anyValue])), outbound: anyValue }, { requiredKeys: [] }));
const message = fc.record(
  { type: fc.oneof(fc.constant('config-delta'), anyValue), base: fc.oneof(fc.constant('v1'), anyValue), version: fc.oneof(fc.constant('v2'), anyValue), sections, outbound, extra: anyValue },
  { requiredKeys: [] },
);

test('a message the quick check accepts is one the schema accepts, with the same content', () => {
  fc.assert(
    fc.property(message, (msg) => {
      const quick = isConfigDeltaShape(msg, SECTION_KEYS);
      const parsed = configDeltaSchema.safeParse(msg);
      if (quick) {
        assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
        // The same content; a message off the wire is plain JSON, so compared as JSON.
        assert.deepEqual(JSON.stringify(msg), JSON.stringify(parsed.data));
      }
    }),
    { numRuns: 5000 },
  );
});

test('the quick check accepts the deltas the control plane writes', () => {
  const deltas = [
    { type: 'config-delta', base: 'a', version: 'b' },
    { type: 'config-delta', base: 'a', version: 'b', outbound: { services: { set: [{ host: 'x' }] } } },
    { type: 'config-delta', base: 'a', version: 'b', sections: { inbound: {}, security: {} }, outbound: { externals: { all: [] }, externalRoutes: null, services: { remove: ['x'], order: ['y'] } } },
  ];
  for (const d of deltas) {
    assert.ok(isConfigDeltaShape(d, SECTION_KEYS), JSON.stringify(d));
    assert.equal(parseConfigDelta(d), d);
  }
});

test('what the quick check refuses still gets the schema error that names the field', () => {
  assert.throws(() => parseConfigDelta({ type: 'config-delta', base: 'a', version: 'b', outbound: { services: { remove: [1] } } }), /PUSH_FRAME_INVALID|outbound\.services\.remove/);
  assert.throws(() => parseConfigDelta({ type: 'config-delta', base: '', version: 'b' }), /malformed at base/);
  assert.throws(() => parseConfigDelta({ type: 'config-delta', base: 'a', version: 'b', sections: { outbound: {} } }), /malformed at sections/);
});

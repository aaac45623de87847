/** The nested lookup of metric series by their inputs: distinct inputs never share a value, and it stays bounded. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { InputLookup } from './input-lookup.js';

const input = fc.oneof(fc.string({ maxLength: 4 }), fc.integer({ min: -2, max: 2 }), fc.boolean(), fc.constant(undefined));

test('a value is found by exactly the inputs it was added with, as a Map of their tuple would', () => {
  fc.assert(
    fc.property(fc.array(fc.array(input, { minLength: 3, maxLength: 3 }), { maxLength: 40 }), (tuples) => {
      const lookup = new InputLookup<number>(1000);
      const reference = new Map<string, number>();
      // A tuple's identity by value: '1' and 1, 'undefined' and undefined are different inputs.
      const id = (t: unknown[]): string => JSON.stringify(t.map((v) => [typeof v, v === undefined ? null : v]));
      tuples.forEach((t, i) => {
        if (lookup.find(t) === undefined) lookup.add(t, i);
        if (!reference.has(id(t))) reference.set(id(t), i);
      });
      for (const t of tuples) assert.equal(lookup.find(t), reference.get(id(t)));
      assert.equal(lookup.size, reference.size);
    }),
  );
});

test('the bound drops everything and starts again, rather than growing', () => {
  const lookup = new InputLookup<string>(3);
  for (const k of ['a', 'b', 'c']) lookup.add([k, 1], k);
  assert.equal(lookup.size, 3);
  lookup.add(['d', 1], 'd');
  assert.equal(lookup.size, 1);
  assert.equal(lookup.find(['a', 1]), undefined);
  assert.equal(lookup.find(['d', 1]), 'd');
  assert.equal(lookup.find(['d', 2]), undefined);
  assert.equal(lookup.find(['e', 1]), undefined);
});

/**
 * What the fuzz tests (`*.fuzz.test.ts`) share: fast-check parameters that keep a CI run bounded and repeatable,
 * a time bound per input, and mutations of valid inputs (bit flips, truncations, length fields off by a little,
 * inserted and deleted bytes) so that cases reach past the first length check into the deep paths of a parser.
 *
 * A run is the same every time (fixed seed). To search further locally: FUZZ_SEED=<n> FUZZ_RUNS=<n> node --test ...
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';

const DEFAULT_SEED = 0x5eed_f00d;

/** fast-check parameters: a fixed seed, and `numRuns` unless FUZZ_RUNS asks for more. */
export function fuzzRuns(numRuns: number): { seed: number; numRuns: number } {
  const seed = Number(process.env['FUZZ_SEED'] ?? DEFAULT_SEED);
  const runs = Number(process.env['FUZZ_RUNS'] ?? numRuns);
  return { seed: Number.isSafeInteger(seed) ? seed : DEFAULT_SEED, numRuns: Number.isSafeInteger(runs) && runs > 0 ? runs : numRuns };
}

/**
 * One input may take at most this long. Inputs are at most a few kilobytes and take well under a millisecond;
 * the bound is loose so that a busy machine never trips it, and tight enough to catch quadratic work or a loop
 * that only ends by chance.
 */
export const MAX_MS_PER_INPUT = 500;

/** Runs `fn` and asserts it returned within MAX_MS_PER_INPUT. */
export function withinTime<T>(fn: () => T): T {
  const started = performance.now();
  const result = fn();
  const took = performance.now() - started;
  assert.ok(took <= MAX_MS_PER_INPUT, `one input took ${took.toFixed(0)} ms`);
  return result;
}

/** The async form of withinTime. */
export async function withinTimeAsync<T>(fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await fn();
  const took = performance.now() - started;
  assert.ok(took <= MAX_MS_PER_INPUT, `one input took ${took.toFixed(0)} ms`);
  return result;
}

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'nudge'; at: number; delta: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; count: number };

// Positions are taken modulo the input's length when applied, so one mutation list fits any input.
const at = fc.nat({ max: 1 << 16 });
// Values that make a length or tag field interesting: zero, one, the DER/TLS long-form boundaries, all ones.
const boundary = fc.constantFrom(0x00, 0x01, 0x02, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0xfe, 0xff);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at, value: fc.oneof(boundary, fc.integer({ min: 0, max: 255 })) }),
  // A length field off by a little: the commonest bug in a hand-written parser.
  fc.record({ kind: fc.constant('nudge' as const), at, delta: fc.integer({ min: -3, max: 3 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at }),
  fc.record({ kind: fc.constant('insert' as const), at, bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), at, count: fc.integer({ min: 1, max: 8 }) }),
);

function apply(input: Uint8Array, mutations: readonly Mutation[]): Buffer {
  let bytes = Buffer.from(input);
  for (const m of mutations) {
    const i = bytes.length === 0 ? 0 : m.at % bytes.length;
    switch (m.kind) {
      case 'flip':
        if (bytes.length > 0) bytes[i] = (bytes[i] ?? 0) ^ (1 << m.bit);
        break;
      case 'set':
        if (bytes.length > 0) bytes[i] = m.value;
        break;
      case 'nudge':
        if (bytes.length > 0) bytes[i] = ((bytes[i] ?? 0) + m.delta) & 0xff;
        break;
      case 'truncate':
        bytes = bytes.subarray(0, i);
        break;
      case 'insert':
        bytes = Buffer.concat([bytes.subarray(0, i), m.bytes, bytes.subarray(i)]);
        break;
      case 'delete':
        bytes = Buffer.concat([bytes.subarray(0, i), bytes.subarray(i + m.count)]);
        break;
      default: {
        const never: never = m;
        throw new TypeError(`unknown mutation ${JSON.stringify(never)}`);
      }
    }
  }
  return bytes;
}

/** One of `valid`, changed by one to four mutations. */
export function mutationsOf(...valid: Uint8Array[]): fc.Arbitrary<Buffer> {
  return fc
    .tuple(fc.constantFrom(...valid), fc.array(mutation, { minLength: 1, maxLength: 4 }))
    .map(([input, mutations]) => apply(input, mutations));
}

/** The same for text: one of `valid`, its UTF-8 bytes mutated, read back as text (invalid bytes become U+FFFD). */
export function textMutationsOf(...valid: string[]): fc.Arbitrary<string> {
  return mutationsOf(...valid.map((v) => Buffer.from(v))).map((b) => b.toString('utf8'));
}

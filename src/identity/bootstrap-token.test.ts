import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isWeftError } from '../errors.js';
import type { WeftErrorCode } from '../errors.js';
import { BootstrapTokens, MemoryTokenStore } from './bootstrap-token.js';
import type { TokenBinding } from './bootstrap-token.js';

const PRODUCTPAGE: TokenBinding = { namespace: 'bookinfo', serviceAccount: 'productpage', workload: 'productpage-v1-0' };
const HOUR = 3_600_000;

function setup(): { tokens: BootstrapTokens; store: MemoryTokenStore; clock: { now: number } } {
  const clock = { now: Date.UTC(2026, 0, 1) };
  const store = new MemoryTokenStore();
  return { tokens: new BootstrapTokens(store, () => clock.now), store, clock };
}

function refusedWith(code: WeftErrorCode, words: string) {
  return (err: unknown): boolean => isWeftError(err, code) && err.message.includes(words);
}

describe('BootstrapTokens', async () => {
  test('issues wft1.<id>.<secret> and stores only a hash of the secret', async () => {
    const { tokens, store } = setup();
    const token = await tokens.issue(PRODUCTPAGE, HOUR);
    const match = /^wft1\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/.exec(token);
    assert.ok(match, token);
    const [, id = '', secret = ''] = match;
    const record = await store.get(id);
    assert.ok(record);
    assert.equal(record.expiresAt - record.issuedAt, HOUR);
    assert.ok(!JSON.stringify(record).includes(secret));
    assert.match(record.secretSha256, /^[0-9a-f]{64}$/);
    assert.notEqual(await tokens.issue(PRODUCTPAGE, HOUR), token);
  });

  test('consumes once for the bound identity', async () => {
    const { tokens } = setup();
    const token = await tokens.issue(PRODUCTPAGE, HOUR);
    assert.deepEqual(await tokens.consume(token, { ...PRODUCTPAGE }), PRODUCTPAGE);
    await assert.rejects(() => tokens.consume(token, PRODUCTPAGE), refusedWith('TOKEN_REPLAYED', 'already used'));
  });

  const malformed = ['', 'garbage', 'wft1..', 'wft2.AAAAAAAAAAAAAAAAAAAAAA.' + 'A'.repeat(43), 'wft1.short.secret', `wft1.${'A'.repeat(22)}.${'A'.repeat(42)}=`];
  for (const bad of malformed) {
    test(`refuses malformed token ${JSON.stringify(bad)}`, async () => {
      const { tokens } = setup();
      await assert.rejects(() => tokens.consume(bad, PRODUCTPAGE), refusedWith('TOKEN_INVALID', 'malformed'));
    });
  }

  test('refuses an unknown token id', async () => {
    const { tokens } = setup();
    await assert.rejects(
      () => tokens.consume(`wft1.${'A'.repeat(22)}.${'B'.repeat(43)}`, PRODUCTPAGE),
      refusedWith('TOKEN_INVALID', 'unknown'),
    );
  });

  test('refuses a known id with a wrong secret, and the token stays usable', async () => {
    const { tokens } = setup();
    const token = await tokens.issue(PRODUCTPAGE, HOUR);
    const last = token.at(-1) === 'A' ? 'B' : 'A';
    await assert.rejects(() => tokens.consume(token.slice(0, -1) + last, PRODUCTPAGE), refusedWith('TOKEN_INVALID', 'wrong secret'));
    assert.deepEqual(await tokens.consume(token, PRODUCTPAGE), PRODUCTPAGE);
  });

  test('expires at issue time + ttl on the injected clock', async () => {
    const { tokens, clock } = setup();
    const token = await tokens.issue(PRODUCTPAGE, HOUR);
    const fresh = await tokens.issue(PRODUCTPAGE, HOUR);
    clock.now += HOUR - 1;
    assert.deepEqual(await tokens.consume(fresh, PRODUCTPAGE), PRODUCTPAGE);
    clock.now += 1;
    await assert.rejects(() => tokens.consume(token, PRODUCTPAGE), refusedWith('TOKEN_EXPIRED', 'expired at'));
  });

  const others: Array<[string, TokenBinding]> = [
    ['namespace', { ...PRODUCTPAGE, namespace: 'default' }],
    ['service account', { ...PRODUCTPAGE, serviceAccount: 'reviews' }],
    ['workload', { ...PRODUCTPAGE, workload: 'productpage-v1-1' }],
  ];
  for (const [what, claimed] of others) {
    test(`refuses a claim with another ${what}, without burning the token`, async () => {
      const { tokens } = setup();
      const token = await tokens.issue(PRODUCTPAGE, HOUR);
      await assert.rejects(() => tokens.consume(token, claimed), refusedWith('TOKEN_IDENTITY_MISMATCH', 'is bound to bookinfo/productpage'));
      assert.deepEqual(await tokens.consume(token, PRODUCTPAGE), PRODUCTPAGE);
    });
  }

  test('issue refuses bad bindings and ttls', async () => {
    const { tokens } = setup();
    await assert.rejects(() => tokens.issue({ ...PRODUCTPAGE, namespace: 'a/b' }, HOUR), (e: unknown) => isWeftError(e, 'SPIFFE_ID_INVALID'));
    await assert.rejects(() => tokens.issue({ ...PRODUCTPAGE, workload: '' }, HOUR), TypeError);
    await assert.rejects(() => tokens.issue(PRODUCTPAGE, 0), TypeError);
    await assert.rejects(() => tokens.issue(PRODUCTPAGE, Number.NaN), TypeError);
  });

  test('MemoryTokenStore.markUsed succeeds once and never for unknown ids', async () => {
    const store = new MemoryTokenStore();
    assert.equal(await store.markUsed('nope', 1), false);
    await store.put('a', { ...PRODUCTPAGE, secretSha256: '00', issuedAt: 0, expiresAt: 1 });
    assert.equal(await store.markUsed('a', 1), true);
    assert.equal(await store.markUsed('a', 2), false);
  });
});

/**
 * The bootstrap token and credential part of the store conformance suite (run by `runStoreConformance`): what a
 * token store and a credential store must do whatever keeps them, including single use under concurrent redemption.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BootstrapTokens } from '../../identity/bootstrap-token.js';
import { isWeftError } from '../../errors.js';
import type { CredentialRecord } from './credential-records.js';
import type { Clock, ControlStore } from './types.js';

export type WithControlStore = (body: (store: ControlStore, reopen: () => Promise<ControlStore>) => Promise<void>) => Promise<void>;

const binding = { namespace: 'bookinfo', serviceAccount: 'reviews', workload: 'reviews-v1' };

function credential(name: string, id: string, extra: Partial<CredentialRecord> = {}): CredentialRecord {
  return {
    id,
    name,
    bindings: [{ role: 'editor', namespace: 'shop' }],
    secretHmac: Buffer.alloc(32, id.charCodeAt(0)),
    createdAt: '2026-01-01T00:00:00.000Z',
    expiresAt: undefined,
    revokedAt: undefined,
    ...extra,
  };
}

export function runIdentityRecordsConformance(withStore: WithControlStore, clock: Clock): void {
  test('a bootstrap token survives a reopen and is spent once, even by concurrent redemptions', () =>
    withStore(async (store, reopen) => {
      const token = await new BootstrapTokens(store.tokens, clock).issue(binding, 3_600_000);
      const again = await reopen();
      const tokens = [new BootstrapTokens(store.tokens, clock), new BootstrapTokens(again.tokens, clock)];
      const outcomes = await Promise.allSettled([0, 1, 0, 1].map((i) => (tokens[i] as BootstrapTokens).consume(token, binding)));
      assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
      for (const o of outcomes) if (o.status === 'rejected') assert.ok(isWeftError(o.reason, 'TOKEN_REPLAYED'), String(o.reason));
      assert.equal(await store.tokens.get('unknown-token-id'), undefined);
      assert.equal(await store.tokens.markUsed('unknown-token-id', 1), false);
    }));

  test('credentials: put replaces by name (the old id stops finding it), list is by name, revoke once', () =>
    withStore(async (store, reopen) => {
      await store.credentials.put(credential('ops', 'aaaaaaaaaaaaaaaa'));
      await store.credentials.put(credential('ci', 'bbbbbbbbbbbbbbbb', { expiresAt: '2026-02-01T00:00:00.000Z' }));
      await store.credentials.put(credential('ops', 'cccccccccccccccc'));
      const again = await reopen();
      assert.equal(await again.credentials.findById('aaaaaaaaaaaaaaaa'), undefined);
      assert.deepEqual(await again.credentials.findById('cccccccccccccccc'), credential('ops', 'cccccccccccccccc'));
      assert.deepEqual((await again.credentials.list()).map((c) => [c.name, c.id, c.expiresAt]), [
        ['ci', 'bbbbbbbbbbbbbbbb', '2026-02-01T00:00:00.000Z'],
        ['ops', 'cccccccccccccccc', undefined],
      ]);
      const revocations = await Promise.all([store.credentials.revoke('ops', 't1'), again.credentials.revoke('ops', 't2')]);
      assert.deepEqual(revocations.filter(Boolean).length, 1);
      assert.equal(await store.credentials.revoke('nobody', 't3'), false);
      assert.ok(['t1', 't2'].includes((await store.credentials.findById('cccccccccccccccc'))?.revokedAt ?? ''));
    }));
}

/**
 * Replicas on one etcd: each opens the same CA, audit key and credential key from what the first sealed, none of it
 * readable in etcd without the sealing key; a replica given another key is refused; one replica at a time leads, and
 * the lease passes on when the leader goes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { startTestEtcd } from '../../../test/support/etcd-cluster.js';
import type { TestEtcd } from '../../../test/support/etcd-cluster.js';
import { cleanup } from '../../../test/support/cleanup.js';
import { stateDirLayout } from '../../mesh/state-dir.js';
import { isWeftError } from '../../errors.js';
import { createCsr, generateWorkloadKey } from '../../identity/workload-key.js';
import { controlLog } from '../control-log.js';
import { openControlBase } from './control-base.js';
import type { ControlBase } from './control-base.js';
import { createSealingKeyFile } from './envelope.js';

let cluster: Promise<TestEtcd> | undefined;
const etcd = (): Promise<TestEtcd> => (cluster ??= startTestEtcd(1));
after(async () => {
  if (cluster !== undefined) await (await cluster).stop();
});
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-replica-'));
cleanup('replica state directories', () => fs.rmSync(dir, { recursive: true, force: true }));

async function replica(name: string, prefix: string, keyFile: string): Promise<ControlBase> {
  const { endpoints } = await etcd();
  return openControlBase({
    layout: stateDirLayout(path.join(dir, name)),
    store: { kind: 'etcd', endpoints, prefix, sealingKeyFile: keyFile, leaseTtlSeconds: 2 },
    trustDomain: 'cluster.local',
    replicaId: name,
    log: controlLog(),
  });
}

function until(what: string, check: () => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 20_000;
    const poll = (): void => {
      if (check()) resolve();
      else if (Date.now() > deadline) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(poll, 50);
    };
    poll();
  });
}

test('replicas share one CA, audit key and credential key; etcd holds none of them in clear; another key is refused', async () => {
  const prefix = `r-${randomBytes(4).toString('hex')}/`;
  const keyFile = path.join(dir, `${prefix.slice(0, -1)}.key`);
  createSealingKeyFile(keyFile);
  const [a, b] = await Promise.all([replica('a', prefix, keyFile), replica('b', prefix, keyFile)]);
  try {
    assert.equal(a.ca.trustBundlePem(), b.ca.trustBundlePem());
    assert.equal(a.auditKey.keyId, b.auditKey.keyId);
    assert.deepEqual(a.credentialKey, b.credentialKey);
    // A certificate signed by one replica chains to the bundle the other serves.
    const key = await generateWorkloadKey();
    const issued = await b.ca.signCsr(await createCsr(key, 'spiffe://cluster.local/ns/default/sa/x'), { spiffeId: 'spiffe://cluster.local/ns/default/sa/x', ttlMs: 60_000 });
    assert.ok(issued.chainPem.includes('BEGIN CERTIFICATE'));

    const client = new Etcd3({ hosts: (await etcd()).endpoints });
    const everything = Object.values(await client.getAll().prefix(prefix).strings()).join('\n');
    client.close();
    assert.ok(!everything.includes('PRIVATE KEY'), 'no private key in clear in etcd');
    assert.ok(!everything.includes(a.credentialKey.toString('base64')), 'no credential key in clear in etcd');

    const otherKey = path.join(dir, `${prefix.slice(0, -1)}.other.key`);
    createSealingKeyFile(otherKey);
    await assert.rejects(replica('c', prefix, otherKey), (err) => isWeftError(err, 'STORE') && /sealed under key/.test(err.message));
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('one replica leads at a time; when it goes, another takes the lease', async () => {
  const prefix = `l-${randomBytes(4).toString('hex')}/`;
  const keyFile = path.join(dir, `${prefix.slice(0, -1)}.key`);
  createSealingKeyFile(keyFile);
  const first = await replica('first', prefix, keyFile);
  const second = await replica('second', prefix, keyFile);
  try {
    await until('a leader', () => first.leading() || second.leading());
    assert.equal(first.leading() && second.leading(), false, 'never two leaders');
    const [leader, other] = first.leading() ? [first, second] : [second, first];
    await leader.close();
    await until('the other replica to lead', () => other.leading());
  } finally {
    await Promise.all([first.close(), second.close()]);
  }
});

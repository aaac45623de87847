/**
 * The etcd store over TLS: a real three-member cluster started with client and peer TLS and client-cert-auth,
 * certificates made here (etcd-certificates.ts), the store conformance suite run through it; and the usual mistakes, each a
 * STORE_TLS error that names it: another CA, a TLS member named with http://, a plaintext member named with
 * https://, no client certificate, a client certificate from another CA.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { isWeftError } from '../../errors.js';
import { startTestEtcd } from '../../../test/support/etcd-cluster.js';
import type { TestEtcd } from '../../../test/support/etcd-cluster.js';
import { ensureEtcdPki } from './etcd-certificates.js';
import type { EtcdPkiFiles } from './etcd-certificates.js';
import { openEtcdStore } from './etcd-connect.js';
import type { EtcdStore } from './etcd-connect.js';
import { checkEtcdEndpoints, etcdCredentials } from './etcd-tls.js';
import type { EtcdClientTls } from './etcd-tls.js';
import { runStoreConformance } from './store.conformance.js';
import type { StoreBackend } from './store.conformance.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-etcd-pki-'));
let pki: Promise<{ ours: EtcdPkiFiles; other: EtcdPkiFiles }> | undefined;
const certificates = (): Promise<{ ours: EtcdPkiFiles; other: EtcdPkiFiles }> =>
  (pki ??= (async () => ({ ours: await ensureEtcdPki(path.join(dir, 'ours'), ['127.0.0.1']), other: await ensureEtcdPki(path.join(dir, 'other'), ['127.0.0.1']) }))());
let tlsMember: Promise<TestEtcd> | undefined;
const secured = async (): Promise<TestEtcd> => (tlsMember ??= startTestEtcd(3, { tls: (await certificates()).ours }));
let plainMember: Promise<TestEtcd> | undefined;
const plain = (): Promise<TestEtcd> => (plainMember ??= startTestEtcd(1));
after(async () => {
  for (const m of [tlsMember, plainMember]) if (m !== undefined) await (await m).stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const clientOf = (files: EtcdPkiFiles): EtcdClientTls => ({ caFile: files.caFile, certFile: files.clientCertFile, keyFile: files.clientKeyFile });

async function tlsBackend(): Promise<StoreBackend> {
  const { endpoints } = await secured();
  const tls = clientOf((await certificates()).ours);
  const prefix = `t-${randomBytes(6).toString('hex')}/`;
  const handles: EtcdStore[] = [];
  return {
    async open({ clock }) {
      const store = await openEtcdStore({ endpoints, prefix, tls, clock });
      handles.push(store);
      return store;
    },
    async cleanup() {
      for (const h of handles) await h.close();
      const client = new Etcd3({ hosts: endpoints, credentials: etcdCredentials(tls)! });
      await client.delete().prefix(prefix).exec();
      client.close();
    },
  };
}

runStoreConformance('etcd over TLS, 3 members, client certificates required', tlsBackend);

test('the members speak TLS to each other too', async () => {
  const { endpoints } = await secured();
  const client = new Etcd3({ hosts: endpoints, credentials: etcdCredentials(clientOf((await certificates()).ours))! });
  try {
    const { members } = await client.cluster.memberList({});
    assert.equal(members.length, 3);
    for (const m of members) {
      assert.ok(m.peerURLs.length > 0 && m.peerURLs.every((u) => u.startsWith('https://')), m.peerURLs.join());
      assert.ok(m.clientURLs.every((u) => u.startsWith('https://')), m.clientURLs.join());
    }
  } finally {
    client.close();
  }
});

async function refusal(endpoints: string[], tls: EtcdClientTls | undefined): Promise<string> {
  try {
    const store = await openEtcdStore({ endpoints, prefix: 'never/', callTimeoutMs: 1500, ...(tls ? { tls } : {}) });
    await store.close();
  } catch (err) {
    assert.ok(isWeftError(err), String(err));
    assert.equal(err.code, 'STORE_TLS', err.message);
    return err.message;
  }
  assert.fail('the store opened');
}

test('TLS mistakes are STORE_TLS errors that say which', async () => {
  const { ours, other } = await certificates();
  const tlsUrl = (await secured()).endpoints;
  const plainUrl = (await plain()).endpoints;
  const cases: [string, string[], EtcdClientTls | undefined, RegExp][] = [
    ['a CA that did not sign the member', tlsUrl, { ...clientOf(ours), caFile: other.caFile }, /does not chain to --etcd-cacert/],
    ['a TLS member named with http://', tlsUrl.map((u) => u.replace('https:', 'http:')), undefined, /speaks TLS: name it with https:\/\//],
    ['a plaintext member named with https://', plainUrl.map((u) => u.replace('http:', 'https:')), clientOf(ours), /does not speak TLS/],
    ['no client certificate', tlsUrl, { caFile: ours.caFile }, /asks for a client certificate/],
    ['a client certificate from another CA', tlsUrl, { caFile: ours.caFile, certFile: other.clientCertFile, keyFile: other.clientKeyFile }, /refused the client certificate/],
  ];
  for (const [what, endpoints, tls, expected] of cases) assert.match(await refusal(endpoints, tls), expected, what);
});

test('endpoint schemes and TLS files must agree before anything connects', () => {
  const files = { caFile: 'ca.pem', certFile: 'c.pem', keyFile: 'k.pem' };
  const refused = (f: () => void, re: RegExp): void => assert.throws(f, (e: unknown) => isWeftError(e) && e.code === 'BAD_REQUEST' && re.test(e.message));
  refused(() => checkEtcdEndpoints(['http://a:2379', 'https://b:2379'], undefined), /mix http/);
  refused(() => checkEtcdEndpoints(['http://a:2379'], files), /need https/);
  refused(() => checkEtcdEndpoints(['https://a:2379'], { caFile: 'ca.pem', certFile: 'c.pem' }), /go together/);
  checkEtcdEndpoints(['https://a:2379', 'https://b:2379'], files);
  checkEtcdEndpoints(['https://a:2379'], undefined);
  checkEtcdEndpoints(['http://a:2379'], undefined);
});

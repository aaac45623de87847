import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { meshConfigWithDefaults } from '../config/kinds/mesh-config.js';
import type { Resource } from '../config/resource.js';
import { isWeftError } from '../errors.js';
import { compileProxyConfigParts } from './compile/index.js';
import type { CompiledProxyConfig } from './compile/index.js';
import { buildSnapshot } from './compile/snapshot.js';
import { CompileSettingsRecord } from './compile-settings-record.js';
import { enforcedConfig } from './enforced-config.js';
import { configBytesDigest, configDigest, configDigestV1 } from './config-digest.js';
import type { PushInputs } from './store/audit-chain.js';
import { openSqliteStore } from './store/sqlite-store.js';
import type { ResourceStore } from './store/types.js';

const PROXY = 'sidecar/default/httpbin';
const bootstrap = meshConfigWithDefaults(undefined);
const meta = (name: string) => ({ name, namespace: 'default', labels: { app: 'httpbin' }, annotations: {} });
const workload: Resource = {
  apiVersion: 'weft.dev/v1alpha1',
  kind: 'Workload',
  metadata: meta('httpbin'),
  spec: { serviceAccount: 'httpbin', command: ['node'], ports: [{ name: 'http', containerPort: 8080 }] },
};
const deny = (name: string): Resource => ({
  apiVersion: 'security.istio.io/v1',
  kind: 'AuthorizationPolicy',
  metadata: meta(name),
  spec: { selector: { matchLabels: { app: 'httpbin' } }, action: 'DENY', rules: [{ to: [{ operation: { paths: [`/${name}`] } }] }] },
});

let dir: string;
let store: ResourceStore;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'weft-enforced-'));
  store = openSqliteStore(path.join(dir, 'store.db'));
});
after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** What the push records for a config compiled at the store's current revision: its inputs, version and hash. */
async function sendAndAck(digestOf: (parts: CompiledProxyConfig['jsonParts']) => string = configDigest): Promise<{ sha256: string; revision: number }> {
  const revision = await store.revision();
  const inputs: PushInputs = { revision, node: { role: 'sidecar', namespace: 'default', name: 'httpbin', serviceAccount: 'httpbin' }, jwks: {}, bootstrap };
  const compiled = compileProxyConfigParts(buildSnapshot(await store.list(), revision, bootstrap), inputs.node);
  const sha256 = digestOf(compiled.jsonParts);
  const configVersion = compiled.config.version;
  await store.appendAudit({ type: 'push', proxy: PROXY, outcome: 'sent', configVersion, configSha256: sha256, inputs });
  await store.appendAudit({ type: 'push', proxy: PROXY, outcome: 'ack', configVersion, configSha256: sha256 });
  return { sha256, revision };
}

test('audit enforced: the ACKed config compiled again from history, a mismatch, unrecorded inputs, a pruned revision', async () => {
  await store.apply([workload, deny('first')], 'alice');
  const first = await sendAndAck();
  await store.apply([deny('second')], 'alice');
  const second = await sendAndAck();
  const names = (r: Awaited<ReturnType<typeof enforcedConfig>>): string[] => r.config.security.authorizationPolicies.map((p) => p.name).sort();

  const then = await enforcedConfig(store, PROXY, { revision: first.revision });
  assert.deepEqual([then.reproduced, then.ack.configSha256, then.reproducedSha256, then.sent.revision], [true, first.sha256, first.sha256, first.revision]);
  assert.deepEqual(names(then), ['first']);
  const now = await enforcedConfig(store, PROXY, { time: new Date(Date.now() + 60_000).toISOString() });
  assert.deepEqual([now.reproduced, now.ack.configSha256, names(now)], [true, second.sha256, ['first', 'second']]);

  // A recorded hash that the history does not give again (an edited store, or a compile that changed).
  await store.apply([deny('third')], 'alice');
  const edited = await sendAndAck(() => 'f'.repeat(64));
  const mismatch = await enforcedConfig(store, PROXY, { revision: edited.revision });
  assert.deepEqual([mismatch.reproduced, mismatch.ack.configSha256], [false, 'f'.repeat(64)]);
  assert.match(mismatch.reproducedSha256, /^[0-9a-f]{64}$/);

  // Records made by older digests: by parts with every section named by the hash of its bytes, and of the bytes.
  for (const digestOf of [configDigestV1, configBytesDigest]) {
    await store.apply([deny(`older-${digestOf.name}`)], 'alice');
    const older = await sendAndAck(digestOf);
    const again = await enforcedConfig(store, PROXY, { revision: older.revision });
    assert.deepEqual([again.reproduced, again.reproducedSha256], [true, older.sha256], digestOf.name);
    assert.notEqual(older.sha256, configDigest(compileProxyConfigParts(buildSnapshot(await store.list(), older.revision, bootstrap), { role: 'sidecar', namespace: 'default', name: 'httpbin', serviceAccount: 'httpbin' }).jsonParts));
  }

  // An ACK whose sent entry predates recorded inputs.
  await store.apply([deny('fourth')], 'alice');
  await store.appendAudit({ type: 'push', proxy: PROXY, outcome: 'sent', configVersion: 'v-old', configSha256: 'a'.repeat(64) });
  await store.appendAudit({ type: 'push', proxy: PROXY, outcome: 'ack', configVersion: 'v-old', configSha256: 'a'.repeat(64) });
  await assert.rejects(enforcedConfig(store, PROXY, { revision: await store.revision() }), (err) => isWeftError(err, 'INPUTS_UNRECORDED'));

  await assert.rejects(enforcedConfig(store, 'sidecar/default/nobody', { revision: first.revision }), (err) => isWeftError(err, 'NOT_FOUND'));
  await store.pruneHistory(await store.revision());
  await assert.rejects(enforcedConfig(store, PROXY, { revision: first.revision }), (err) => isWeftError(err, 'HISTORY_PRUNED'));
});

test("audit enforced: a gateway's config reproduces whatever order the gateway sent its labels in", async () => {
  const GATEWAY = 'gateway/istio-system/istio-egressgateway';
  const revision = await store.revision();
  // Not sorted: the audit chain records the inputs in canonical (sorted) order.
  const node = { role: 'gateway' as const, namespace: 'istio-system', name: 'istio-egressgateway', serviceAccount: 'istio-egressgateway-service-account', labels: { istio: 'egressgateway', app: 'istio-egressgateway' } };
  const compiled = compileProxyConfigParts(buildSnapshot(await store.list(), revision, bootstrap), node);
  const sha256 = configDigest(compiled.jsonParts);
  const configVersion = compiled.config.version;
  await store.appendAudit({ type: 'push', proxy: GATEWAY, outcome: 'sent', configVersion, configSha256: sha256, inputs: { revision, node, jwks: {}, bootstrap } });
  await store.appendAudit({ type: 'push', proxy: GATEWAY, outcome: 'ack', configVersion, configSha256: sha256 });
  const answer = await enforcedConfig(store, GATEWAY, { revision });
  assert.deepEqual([answer.reproduced, answer.reproducedSha256], [true, sha256]);
});

test('audit enforced: shared inputs named by the digest of a settings entry; a missing or forged one is unrecorded', async () => {
  // Not the defaults: a compile that ignored the recorded settings would give another SPIFFE ID, and another hash.
  const settings = meshConfigWithDefaults({ trustDomain: 'example.org' });
  const record = new CompileSettingsRecord(settings, (e) => store.appendAudit(e), (err) => assert.fail(String(err)));
  const jwks = { 'https://issuer.example/jwks': '{"keys":[]}' };
  const revision = await store.revision();
  const node = { role: 'sidecar' as const, namespace: 'default', name: 'httpbin', serviceAccount: 'httpbin' };
  const compiled = compileProxyConfigParts(buildSnapshot(await store.list(), revision, settings, new Map(Object.entries(jwks))), node);
  const sha256 = configDigest(compiled.jsonParts);
  const configVersion = compiled.config.version;
  const inputs = record.inputsOf({ revision, node, jwks });
  assert.deepEqual(Object.keys(inputs).sort(), ['node', 'revision', 'settings']);
  await store.appendAudit({ type: 'push', proxy: PROXY, outcome: 'sent', configVersion, configSha256: sha256, inputs });
  await store.appendAudit({ type: 'push', proxy: PROXY, outcome: 'ack', configVersion, configSha256: sha256 });
  const answer = await enforcedConfig(store, PROXY, { time: new Date(Date.now() + 60_000).toISOString() });
  assert.deepEqual([answer.reproduced, answer.config.proxy.spiffeId], [true, 'spiffe://example.org/ns/default/sa/httpbin']);

  // A digest the chain holds no settings entry for.
  const missing = { ...inputs, settings: 'b'.repeat(64) };
  await store.appendAudit({ type: 'push', proxy: PROXY, outcome: 'sent', configVersion: 'v-missing', configSha256: sha256, inputs: missing });
  await store.appendAudit({ type: 'push', proxy: PROXY, outcome: 'ack', configVersion: 'v-missing', configSha256: sha256 });
  await assert.rejects(enforcedConfig(store, PROXY, { time: new Date(Date.now() + 60_000).toISOString() }), (err) => isWeftError(err, 'INPUTS_UNRECORDED'));

  // A settings entry whose content is not what its digest names (other settings under a recorded name).
  const forged = 'c'.repeat(64);
  await store.appendAudit({ type: 'settings', sha256: forged, bootstrap, jwks: {} });
  await store.appendAudit({ type: 'push', proxy: PROXY, outcome: 'sent', configVersion: 'v-forged', configSha256: sha256, inputs: { ...inputs, settings: forged } });
  await store.appendAudit({ type: 'push', proxy: PROXY, outcome: 'ack', configVersion: 'v-forged', configSha256: sha256 });
  await assert.rejects(enforcedConfig(store, PROXY, { time: new Date(Date.now() + 60_000).toISOString() }), (err) => isWeftError(err, 'INPUTS_UNRECORDED'));
});

/**
 * The Kubernetes manifests under deploy/kubernetes, checked without an API server: every object against
 * Kubernetes' published OpenAPI schemas (the kubernetes-models package, generated from them), and what weft reads
 * from them against weft itself: the control plane's flags through `weft control`'s own parser, the sidecar's
 * environment through the proxy's settings parser, the init container's flags through `weft capture-init`'s.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { parseProxySettings } from '../src/proxy/settings.js';
import { REPO_ROOT, WEFT_BIN } from './support/mesh-process.js';

const run = promisify(execFile);
const DIR = path.join(REPO_ROOT, 'deploy', 'kubernetes');

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: { template?: { spec: PodSpec } };
}
interface Container {
  name: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
}

function manifests(): { file: string; object: K8sObject }[] {
  return fs
    .readdirSync(DIR)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((file) => parseAllDocuments(fs.readFileSync(path.join(DIR, file), 'utf8')).map((d) => ({ file, object: d.toJS() as K8sObject })));
}

function containers(name: string): Container[] {
  return manifests().flatMap(({ object }) => [...(object.spec?.template?.spec.initContainers ?? []), ...(object.spec?.template?.spec.containers ?? [])]).filter((c) => c.name === name);
}

// The package holding Kubernetes' schemas is a development dependency; a name in a variable keeps the compiler
// from requiring it where it is not installed.
const MODELS = 'kubernetes-models';
const models = await import(`${MODELS}/v1`).then(
  () => true,
  () => false,
);

test('every manifest is valid against the Kubernetes OpenAPI schemas', { skip: models ? false : `${MODELS} is not installed` }, async () => {
  const all = manifests();
  assert.ok(all.length >= 10, `only ${all.length} objects`);
  for (const { file, object } of all) {
    const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : ['', object.apiVersion];
    const mod = (await import(group === '' ? `${MODELS}/${version}` : `${MODELS}/${group}/${version}`)) as Record<string, new (o: unknown) => { validate(): void }>;
    const Model = mod[object.kind];
    assert.ok(Model, `${file}: no schema for ${object.apiVersion} ${object.kind}`);
    assert.doesNotThrow(() => new Model(object).validate(), `${file}: ${object.kind}/${object.metadata.name}`);
  }
  // The schemas do catch a wrong type: the check is not vacuous.
  const { Pod } = (await import(`${MODELS}/v1`)) as Record<string, new (o: unknown) => { validate(): void }>;
  assert.throws(() => new Pod!({ metadata: { name: 'x' }, spec: { containers: [{ name: 'c', ports: [{ containerPort: 'http' }] }] } }).validate());
});

test("the control plane's arguments are ones `weft control` accepts", async () => {
  const [control] = containers('control');
  assert.ok(control?.args);
  const flags = control.args.filter((a) => a.startsWith('--') && a !== '--state-dir=/var/lib/weft').map((a) => a.split('=')[0]!);
  const help = (await run(process.execPath, [WEFT_BIN, 'control', '--help'])).stdout;
  for (const flag of flags) assert.match(help, new RegExp(`${flag}[ ,]`), `weft control has no ${flag}`);
  assert.ok(control.args.includes('--store=etcd'));
});

test("the sidecar's environment is read by the proxy's own settings parser, every replica named", () => {
  const [proxy] = containers('weft-proxy');
  assert.ok(proxy?.env);
  // Values from the downward API, ConfigMaps and Secrets are filled as the kubelet would.
  const filled: Record<string, string> = { WEFT_NAMESPACE: 'default', WEFT_NAME: 'httpbin-1', WEFT_SERVICE_ACCOUNT: 'httpbin', WEFT_POD_IP: '10.1.2.3', WEFT_CA_BUNDLE_PEM: 'pem', WEFT_BOOTSTRAP_TOKEN: 'token' };
  const env = new Map(proxy.env.map((e) => [e.name, e.value ?? filled[e.name]]));
  for (const e of proxy.env) assert.ok(env.get(e.name) !== undefined, `${e.name} has no value`);
  const settings = parseProxySettings((k) => env.get(k));
  assert.equal(settings.controlUrls.length, 3);
  assert.equal(settings.role, 'sidecar');
});

test("the init container's arguments are ones `weft capture-init` accepts", async () => {
  const [init] = containers('weft-init');
  assert.ok(init?.args?.[0] === 'capture-init');
  const help = (await run(process.execPath, [WEFT_BIN, 'capture-init', '--help'])).stdout;
  for (const flag of init.args.slice(1).map((a) => a.split('=')[0]!)) assert.match(help, new RegExp(`${flag}[ ,]`), `weft capture-init has no ${flag}`);
});

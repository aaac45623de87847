import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Command } from 'commander';
import type { ApiFixture } from '../control/api/api-server.fixture.js';
import { startApiFixture } from '../control/api/api-server.fixture.js';
import { isWeftError } from '../errors.js';
import type { MeshFile } from '../mesh/mesh-file.js';
import { stateDirLayout } from '../mesh/state-dir.js';
import { registerApplyCommand } from './apply.js';
import { ControlClient } from './client.js';
import { registerDeleteCommand } from './delete.js';
import { registerGetCommand } from './get.js';

async function writeStateDir(dir: string, mesh: Partial<MeshFile> & { control: MeshFile['control'] }, api?: ApiFixture) {
  const layout = stateDirLayout(dir);
  await mkdir(layout.caDir, { recursive: true });
  const full: MeshFile = { pid: process.pid, startedAt: new Date().toISOString(), isolation: 'none', gateway: null, workloads: [], ...mesh };
  await writeFile(layout.meshFile, JSON.stringify(full));
  if (api !== undefined) {
    await writeFile(layout.adminCredentialFile, `${api.adminSecret}\n`, { mode: 0o600 });
    await writeFile(layout.trustBundleFile, api.caPem);
  }
}

/** A pid that is certainly not running: a child that has exited. */
async function deadPid(): Promise<number> {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid as number;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('finding the mesh', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'weft-cli-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('no mesh file, a dead weft up, or a silent control plane are MESH_NOT_RUNNING', async () => {
    const empty = path.join(dir, 'empty');
    await assert.rejects(ControlClient.fromStateDir(empty), (err) => {
      assert.ok(isWeftError(err, 'MESH_NOT_RUNNING'));
      assert.equal(err.message, `no mesh is running in ${path.resolve(empty)} (start one with: weft up PATH)`);
      return true;
    });
    const stale = path.join(dir, 'stale');
    await writeStateDir(stale, { pid: await deadPid(), control: { address: '127.0.0.1:1', pid: null } });
    await assert.rejects(ControlClient.fromStateDir(stale), (err) => isWeftError(err, 'MESH_NOT_RUNNING'));

    const client = new ControlClient({ address: `127.0.0.1:${await freePort()}`, credential: 'x', caPem: '' });
    await assert.rejects(client.list(), (err) => isWeftError(err, 'MESH_NOT_RUNNING'));
    await client.close();
  });

  test("a server without the control plane's SPIFFE ID is refused, even with a trusted certificate", async () => {
    const cases: [id: string | null, accepted: boolean][] = [
      [null, false],
      ['spiffe://cluster.local/ns/default/sa/reviews', false],
      ['spiffe://cluster.local/ns/weft-system/sa/weft-control', true],
    ];
    for (const [id, accepted] of cases) {
      const impostor = await startApiFixture({}, { serverSpiffeId: id });
      const client = new ControlClient({ address: impostor.address, credential: impostor.adminSecret, caPem: impostor.caPem });
      try {
        if (accepted) assert.deepEqual(await client.list(), []);
        else await assert.rejects(client.list(), /control plane presented/, String(id));
      } finally {
        await client.close();
        await impostor.close();
      }
    }
  });
});

describe('CLI verbs against a running control plane', () => {
  let api: ApiFixture;
  let dir: string;
  let stateDir: string;

  before(async () => {
    api = await startApiFixture();
    dir = await mkdtemp(path.join(tmpdir(), 'weft-cli-'));
    stateDir = path.join(dir, 'state');
    await writeStateDir(stateDir, { control: { address: api.address, pid: process.pid } }, api);
  });
  after(async () => {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs one verb in-process, capturing what it prints and the exit code it sets. */
  async function weft(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
    const program = new Command().exitOverride().option('--state-dir <dir>', 'state directory', '.weft');
    let stdout = '';
    let stderr = '';
    const io = { out: (t: string) => void (stdout += t), err: (t: string) => void (stderr += t) };
    registerApplyCommand(program, io);
    registerGetCommand(program, io);
    registerDeleteCommand(program, io);
    process.exitCode = 0;
    await program.parseAsync(['--state-dir', stateDir, ...args], { from: 'user' });
    const code = Number(process.exitCode ?? 0);
    process.exitCode = 0;
    return { stdout, stderr, code };
  }

  const manifest = `apiVersion: v1
kind: Service
metadata: { name: details }
spec:
  selector: { app: details }
  ports: [{ name: http, port: 9080 }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: bookinfo }
spec:
  hosts: ['*']
  gateways: [bookinfo-gateway]
  http: [{ route: [{ destination: { host: details } }] }]
`;

  test('apply, get and delete print what kubectl prints and exit 0', async () => {
    const file = path.join(dir, 'bookinfo.yaml');
    await writeFile(file, manifest);
    assert.deepEqual(await weft('apply', '-f', file), {
      stdout: 'service/details created\nvirtualservice.networking.istio.io/bookinfo created\n',
      stderr: '',
      code: 0,
    });
    assert.equal((await weft('apply', '-f', file)).stdout, 'service/details unchanged\nvirtualservice.networking.istio.io/bookinfo unchanged\n');

    const table = await weft('get', 'vs');
    assert.equal(table.code, 0);
    assert.match(table.stdout, /^NAME {7}GATEWAYS {15}HOSTS {3}AGE\nbookinfo {3}\["bookinfo-gateway"\] {3}\["\*"\] {3}\d+s\n$/);
    const one = await weft('get', 'svc', 'details', '-o', 'json');
    assert.equal(JSON.parse(one.stdout).metadata.name, 'details');

    assert.deepEqual(await weft('delete', 'vs', 'bookinfo'), {
      stdout: 'virtualservice.networking.istio.io "bookinfo" deleted\n',
      stderr: '',
      code: 0,
    });
    assert.deepEqual(await weft('delete', '-f', file), {
      stdout: '',
      stderr: 'Error from server (NotFound): virtualservices.networking.istio.io "bookinfo" not found\n',
      code: 1,
    });
    assert.notEqual(await api.store.get({ kind: 'Service', namespace: 'default', name: 'details' }), undefined);
  });

  test('the credential comes from --credential-file, else WEFT_CREDENTIAL, else the state directory', async () => {
    const viewerFile = path.join(dir, 'viewer.credential');
    await writeFile(viewerFile, `${api.viewerSecret}\n`);
    const auditor = (await api.credentials.create({ name: 'auditor-env', role: 'auditor', namespaces: [] })).secret;
    const cases: [source: Parameters<typeof ControlClient.fromStateDir>[1], actor: string][] = [
      [{ env: {} }, 'admin'],
      [{ env: { WEFT_CREDENTIAL: '' } }, 'admin'],
      [{ env: { WEFT_CREDENTIAL: ` ${auditor}\n` } }, 'auditor-env'],
      [{ credentialFile: viewerFile, env: { WEFT_CREDENTIAL: auditor } }, 'dashboard'],
    ];
    for (const [source, actor] of cases) {
      const client = await ControlClient.fromStateDir(stateDir, source);
      try {
        assert.equal((await client.canI({ verb: 'get', kind: 'Service', namespace: 'default' })).principal.name, actor);
      } finally {
        await client.close();
      }
    }
    await assert.rejects(ControlClient.fromStateDir(stateDir, { credentialFile: path.join(dir, 'missing') }), (err) => {
      assert.ok(isWeftError(err, 'BAD_REQUEST'));
      assert.match(err.message, /^cannot read the credential file .*missing: ENOENT/);
      return true;
    });
  });

  /** An operator's state directory for a control plane weft up did not start: the credential and the bundle only. */
  async function operatorDir(name: string): Promise<string> {
    const opsDir = path.join(dir, name);
    const layout = stateDirLayout(opsDir);
    await mkdir(layout.caDir, { recursive: true });
    await writeFile(layout.adminCredentialFile, `${api.adminSecret}\n`, { mode: 0o600 });
    await writeFile(layout.trustBundleFile, api.caPem);
    return opsDir;
  }

  test('WEFT_CONTROL_ADDRESS reaches a control plane weft up did not start: no mesh file, only credential and bundle', async () => {
    const opsDir = await operatorDir('ops');
    await assert.rejects(ControlClient.fromStateDir(opsDir, { env: {} }), (err) => isWeftError(err, 'MESH_NOT_RUNNING'));
    const client = await ControlClient.fromStateDir(opsDir, { env: { WEFT_CONTROL_ADDRESS: ` ${api.address} ` } });
    try {
      assert.equal((await client.canI({ verb: 'get', kind: 'Service', namespace: 'default' })).principal.name, 'admin');
    } finally {
      await client.close();
    }
    await assert.rejects(ControlClient.fromStateDir(path.join(dir, 'nothing'), { env: { WEFT_CONTROL_ADDRESS: api.address } }), (err) => isWeftError(err, 'MESH_NOT_RUNNING'));
  });

  test('every replica named (WEFT_CONTROL_ADDRESS comma-separated): the first answers, a peer that is down is left out of the proxy list', async () => {
    const opsDir = await operatorDir('ops-replicas');
    const down = `127.0.0.1:${await freePort()}`;
    const client = await ControlClient.fromStateDir(opsDir, { env: { WEFT_CONTROL_ADDRESS: `${api.address}, ${down}` } });
    const direct = new ControlClient({ address: api.address, credential: api.adminSecret, caPem: api.caPem });
    try {
      assert.equal(client.address, api.address);
      assert.deepEqual(await client.proxies(), await direct.proxies());
    } finally {
      await Promise.all([client.close(), direct.close()]);
    }
    // The replica named first is the one that must answer.
    const reversed = await ControlClient.fromStateDir(opsDir, { env: { WEFT_CONTROL_ADDRESS: `${down},${api.address}` } });
    try {
      await assert.rejects(reversed.proxies(), (err) => isWeftError(err, 'MESH_NOT_RUNNING'));
    } finally {
      await reversed.close();
    }
  });

  test('errors go to stderr with exit 1 and kubectl wording', async () => {
    const cases: [args: string[], stderr: string][] = [
      [['get', 'vs', 'ghost'], 'Error from server (NotFound): virtualservices.networking.istio.io "ghost" not found\n'],
      [['get', 'pods'], `error: the server doesn't have a resource type "pods"\n`],
      [['get', 'workloads', '-n', 'empty'], 'No resources found in empty namespace.\n'],
    ];
    for (const [args, stderr] of cases) {
      const res = await weft(...args);
      assert.equal(res.stderr, stderr, args.join(' '));
      assert.equal(res.stdout, '', args.join(' '));
      assert.equal(res.code, stderr.startsWith('No resources') ? 0 : 1, args.join(' '));
    }
    const invalid = path.join(dir, 'invalid.yaml');
    await writeFile(invalid, 'apiVersion: v1\nkind: Service\nmetadata: { name: Bad_Name }\n');
    const res = await weft('apply', '-f', invalid);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /^error: .*invalid\.yaml:3:\d+: metadata\.name: /);
    assert.doesNotMatch(res.stderr, /\n\s+at /);
  });
});

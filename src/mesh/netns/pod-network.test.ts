import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isWeftError, WeftError } from '../../errors.js';
import type { CommandRunner } from './ip-command.js';
import { podNames } from './pod-names.js';
import { listeningPorts, PodNetwork } from './pod-network.js';
import { LEDGER_FILE } from './resource-ledger.js';

/** Just enough of the kernel, as `ip` shows it, to check what PodNetwork creates and removes. */
class FakeKernel {
  links = new Map<string, { peerNetns?: string }>([['eth0', {}], ['docker0', {}]]);
  netns = new Map<string, number[]>([['someone-elses', []]]);
  addresses: { address: string; prefix: number }[] = [{ address: '127.0.0.1', prefix: 8 }];
  log: string[] = [];
  killed: number[] = [];
  /** Ledger contents at each creating command: proves the record came first. */
  ledgerAtCreate: string[] = [];

  constructor(private readonly stateDir: string) {}

  run: CommandRunner = async (file, args) => {
    assert.equal(file, '/sbin/ip');
    const line = args.join(' ');
    this.log.push(line);
    const fail = (why: string): never => {
      throw new WeftError('NETNS_COMMAND_FAILED', `ip ${line}: ${why}`);
    };
    const ok = (stdout = ''): { stdout: string; stderr: string } => ({ stdout, stderr: '' });
    const ledger = (): string => {
      try {
        return fs.readFileSync(path.join(this.stateDir, LEDGER_FILE), 'utf8');
      } catch {
        return '';
      }
    };
    const [a0, a1, a2] = args;
    if (a0 === '-j') return ok(JSON.stringify([{ ifname: 'x', addr_info: this.addresses.map((x) => ({ family: 'inet', local: x.address, prefixlen: x.prefix })) }]));
    if (a0 === '-n') return this.netns.has(a1!) ? ok() : fail('no such netns');
    if (a0 === 'netns' && a1 === 'list') return ok([...this.netns.keys()].map((n, i) => `${n} (id: ${i})`).join('\n'));
    if (a0 === 'netns' && a1 === 'add') {
      if (!ledger().includes(`"${a2}"`)) this.ledgerAtCreate.push(`unrecorded ${a2}`);
      if (this.netns.has(a2!)) fail('exists');
      this.netns.set(a2!, []);
      return ok();
    }
    if (a0 === 'netns' && a1 === 'pids') return ok((this.netns.get(a2!) ?? fail('no netns')).join('\n'));
    if (a0 === 'netns' && a1 === 'delete') {
      if (!this.netns.delete(a2!)) fail('no netns');
      for (const [name, l] of this.links) if (l.peerNetns === a2) this.links.delete(name);
      return ok();
    }
    if (a0 === 'link' && a1 === 'add') {
      const name = a2 === 'name' ? args[3]! : a2!;
      if (!ledger().includes(`"${name}"`)) this.ledgerAtCreate.push(`unrecorded ${name}`);
      if (this.links.has(name)) fail('exists');
      const peerNetns = args.includes('netns') ? args[args.indexOf('netns') + 1] : undefined;
      if (peerNetns !== undefined && !this.netns.has(peerNetns)) fail('no netns');
      this.links.set(name, { peerNetns });
      return ok();
    }
    if (a0 === 'link' && a1 === 'show') return this.links.has(args[3]!) ? ok() : fail('does not exist');
    if (a0 === 'link' && a1 === 'set') return this.links.has(a2!) ? ok() : fail('no link');
    if (a0 === 'link' && a1 === 'delete') return this.links.delete(a2!) ? ok() : fail('no link');
    if (a0 === 'addr' && a1 === 'add') {
      const [address, prefix] = a2!.split('/') as [string, string];
      this.addresses.push({ address, prefix: Number(prefix) });
      return ok();
    }
    return fail('unexpected command');
  };
}

function setup(): { dir: string; kernel: FakeKernel; open: (range?: string) => Promise<PodNetwork> } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-podnet-'));
  const kernel = new FakeKernel(dir);
  const open = (podRange?: string): Promise<PodNetwork> =>
    PodNetwork.open({ stateDir: dir, ip: '/sbin/ip', podRange, run: kernel.run, kill: (pid) => kernel.killed.push(pid) });
  return { dir, kernel, open };
}

describe('PodNetwork', () => {
  test('creates a bridge and one namespace with a veth per pod, each recorded before it exists', async () => {
    const { dir, kernel, open } = setup();
    const names = podNames(dir);
    const net = await open('10.70.0.0/24');
    assert.equal(net.subnet.bridgeAddress, '10.70.0.1');
    const a = await net.addPod(0, 'default', 'httpbin');
    const b = await net.addPod(1, 'default', 'sleep');
    assert.deepEqual(a, { netns: names.netns('default', 'httpbin'), podIP: '10.70.0.10', hostVeth: names.hostVeth(0) });
    assert.equal(b.podIP, '10.70.0.11');
    assert.deepEqual(kernel.ledgerAtCreate, []);
    assert.ok(kernel.links.has(names.bridge));
    assert.equal(kernel.links.get(a.hostVeth)?.peerNetns, a.netns);
    assert.ok(kernel.log.includes(`-n ${a.netns} route add default via 10.70.0.1`));
    assert.ok(kernel.log.includes(`-n ${b.netns} addr add 10.70.0.11/24 dev eth0`));
    assert.ok(kernel.log.includes(`-n ${b.netns} link set lo up`));
    assert.deepEqual(net.inPod(a, 'node', ['app.js']), { command: '/sbin/ip', args: ['netns', 'exec', a.netns, 'node', 'app.js'] });

    await net.teardown();
    assert.deepEqual([...kernel.links.keys()], ['eth0', 'docker0']);
    assert.deepEqual([...kernel.netns.keys()], ['someone-elses']);
    assert.equal(fs.existsSync(path.join(dir, LEDGER_FILE)), false);
    await net.teardown();
  });

  test('after a crash the next open removes exactly what the ledger lists, killing what still runs in it', async () => {
    const { kernel, open } = setup();
    const first = await open();
    const pod = await first.addPod(0, 'default', 'httpbin');
    kernel.netns.set(pod.netns, [4242, 4243]);
    // A crash: no teardown. Someone else's weft-looking link must survive the cleanup.
    kernel.links.set('weft0-ffffff', {});
    kernel.log = [];
    const second = await open();
    assert.deepEqual(kernel.killed, [4242, 4243]);
    assert.ok(kernel.log.indexOf(`netns delete ${pod.netns}`) < kernel.log.indexOf(`link add name ${second.bridge} type bridge`));
    assert.ok(!kernel.netns.has(pod.netns));
    assert.ok(kernel.links.has('weft0-ffffff'));
    assert.ok(kernel.netns.has('someone-elses'));
    await second.teardown();
    assert.deepEqual([...kernel.links.keys()].sort(), ['docker0', 'eth0', 'weft0-ffffff']);
  });

  test('a ledger entry not named as this mesh’s is dropped without touching the object', async () => {
    const { dir, kernel, open } = setup();
    fs.writeFileSync(path.join(dir, LEDGER_FILE), JSON.stringify({ version: 1, resources: [{ kind: 'link', name: 'docker0' }, { kind: 'netns', name: 'someone-elses' }] }));
    const net = await open();
    assert.ok(kernel.links.has('docker0'));
    assert.ok(kernel.netns.has('someone-elses'));
    await net.teardown();
    assert.ok(kernel.links.has('docker0'));
  });

  test('refuses to adopt an object with its name that it did not record', async () => {
    const { dir, kernel, open } = setup();
    kernel.links.set(podNames(dir).bridge, {});
    await assert.rejects(open(), (e) => isWeftError(e, 'NETNS_CONFLICT'));
    assert.ok(kernel.links.has(podNames(dir).bridge));
    assert.ok(!kernel.log.some((l) => l.startsWith('link delete')));
  });

  test('the pod subnet avoids networks the machine already has addresses in', async () => {
    const { kernel, open } = setup();
    kernel.addresses.push({ address: '10.70.0.200', prefix: 24 });
    const net = await open('10.70.0.0/23');
    assert.equal(net.subnet.cidr, '10.70.1.0/24');
    await net.teardown();
  });
});

describe('PodNetwork capture', () => {
  test('a pod’s hosts file and capture rules are recorded, and teardown removes the hosts directory', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-podnet-'));
    const etc = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-etc-netns-'));
    const kernel = new FakeKernel(dir);
    const inPod: string[] = [];
    const run: CommandRunner = async (file, args) => {
      if (args[0] === 'netns' && args[1] === 'exec') {
        inPod.push(args.slice(2).join(' '));
        return { stdout: '', stderr: '' };
      }
      return kernel.run(file, args);
    };
    const net = await PodNetwork.open({ stateDir: dir, ip: '/sbin/ip', podRange: '10.70.0.0/24', run, kill: () => undefined, etcNetnsDir: etc });
    assert.notEqual(net.serviceSubnet.cidr, net.subnet.cidr, 'service VIPs never share the pods’ subnet');
    const pod = await net.addPod(0, 'default', 'sleep');
    net.writeHosts(pod, '198.19.0.1\thttpbin\n');
    await net.capture(pod, { sidecarUid: 1337, outboundCapturePort: 15002, inboundPort: 15006, sidecarPorts: [15020] });
    assert.equal(fs.readFileSync(path.join(etc, pod.netns, 'hosts'), 'utf8'), '198.19.0.1\thttpbin\n');
    assert.ok(inPod.length > 0 && inPod.every((c) => c.startsWith(`${pod.netns} iptables -t nat`)), inPod.join('\n'));
    const ledger = fs.readFileSync(path.join(dir, LEDGER_FILE), 'utf8');
    assert.match(ledger, /"kind": "hosts"/);
    assert.match(ledger, /"kind": "capture"/);
    await net.teardown();
    assert.deepEqual(fs.readdirSync(etc), []);
    assert.equal(fs.existsSync(path.join(dir, LEDGER_FILE)), false);
    assert.equal(kernel.netns.has(pod.netns), false);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(etc, { recursive: true, force: true });
  });

  test('listening ports are read from ss output', () => {
    const ss = ['LISTEN 0      511    198.18.3.10:8080      0.0.0.0:*', 'LISTEN 0 511 127.0.0.1:15002 0.0.0.0:*', 'LISTEN 0 128 [::]:22 [::]:*', ''].join('\n');
    assert.deepEqual([...listeningPorts(ss)].sort((a, b) => a - b), [22, 8080, 15002]);
    assert.deepEqual([...listeningPorts('')], []);
  });
});

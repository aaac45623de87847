import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isWeftError, WeftError } from '../../errors.js';
import type { CommandRunner } from './ip-command.js';
import { podNames } from './pod-names.js';
import { listeningPorts, PodNetwork } from './pod-network.js';
import { LEDGER_FILE } from './resource-ledger.js';

/** Every temporary directory the tests make, removed when the file's tests end (a failed test's too). */
const tempDirs: string[] = [];
after(() => {
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});
function tempDir(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

/** Just enough of the kernel, as `ip` and `iptables` show it, to check what PodNetwork creates and removes. */
class FakeKernel {
  /** table/chain → rules as iptables -S would print them after the chain name. */
  chains = new Map<string, string[]>([
    ['filter/FORWARD', ['-j DOCKER-USER']],
    ['nat/POSTROUTING', []],
    ['filter/DOCKER-USER', []],
  ]);
  readonly procSys: string;
  /** The host-wide /run/weft. */
  readonly runDir: string;
  links = new Map<string, { peerNetns?: string }>([['eth0', {}], ['docker0', {}]]);
  netns = new Map<string, number[]>([['someone-elses', []]]);
  addresses: { address: string; prefix: number }[] = [{ address: '127.0.0.1', prefix: 8 }];
  log: string[] = [];
  killed: number[] = [];
  /** Ledger contents at each creating command: proves the record came first. */
  ledgerAtCreate: string[] = [];

  constructor(private readonly stateDir: string) {
    this.procSys = tempDir('weft-procsys-');
    this.runDir = path.join(this.procSys, 'run-weft');
    fs.mkdirSync(path.join(this.procSys, 'net', 'ipv4'), { recursive: true });
    this.forwarding = '0';
  }

  get forwarding(): string {
    return fs.readFileSync(path.join(this.procSys, 'net', 'ipv4', 'ip_forward'), 'utf8').trim();
  }

  set forwarding(v: string) {
    fs.writeFileSync(path.join(this.procSys, 'net', 'ipv4', 'ip_forward'), `${v}\n`);
  }

  #ledger(): string {
    try {
      return fs.readFileSync(path.join(this.stateDir, LEDGER_FILE), 'utf8');
    } catch {
      return '';
    }
  }

  iptables(args: readonly string[]): { stdout: string; stderr: string } {
    const line = args.join(' ');
    this.log.push(`iptables ${line}`);
    assert.deepEqual(args.slice(0, 2), ['-w', '-t'], line);
    const [table, op, chain, ...rest] = args.slice(2) as [string, string, string, ...string[]];
    const key = `${table}/${chain}`;
    const fail = (why: string): never => {
      throw new WeftError('NETNS_COMMAND_FAILED', `iptables ${line}: ${why}`);
    };
    const rules = (): string[] => this.chains.get(key) ?? fail('no chain');
    const ok = { stdout: '', stderr: '' };
    if (op === '-N') {
      if (!this.#ledger().includes(`"${chain}"`)) this.ledgerAtCreate.push(`unrecorded ${chain}`);
      if (this.chains.has(key)) fail('exists');
      this.chains.set(key, []);
    } else if (op === '-S') return { stdout: rules().map((r) => `-A ${chain} ${r}`).join('\n'), stderr: '' };
    else if (op === '-A') rules().push(rest.join(' '));
    else if (op === '-I') {
      const [position, ...rule] = rest;
      if (!this.chains.has(`${table}/${rule[1]}`)) fail('no target');
      rules().splice(Number(position) - 1, 0, rule.join(' '));
    } else if (op === '-C') {
      if (!rules().includes(rest.join(' '))) fail('no such rule');
    } else if (op === '-D') {
      const i = rules().indexOf(rest.join(' '));
      if (i < 0) fail('no such rule');
      rules().splice(i, 1);
    } else if (op === '-F') rules().splice(0);
    else if (op === '-X') {
      for (const [k, r] of this.chains) if (k.startsWith(`${table}/`) && r.some((x) => x.endsWith(`-j ${chain}`))) fail('chain in use');
      if (!this.chains.delete(key)) fail('no chain');
    } else fail('unexpected iptables command');
    return ok;
  }

  run: CommandRunner = async (file, args) => {
    if (file === '/sbin/iptables') return this.iptables(args);
    assert.equal(file, '/sbin/ip');
    const line = args.join(' ');
    this.log.push(line);
    const fail = (why: string): never => {
      throw new WeftError('NETNS_COMMAND_FAILED', `ip ${line}: ${why}`);
    };
    const ok = (stdout = ''): { stdout: string; stderr: string } => ({ stdout, stderr: '' });
    const ledger = (): string => this.#ledger();
    const [a0, a1, a2] = args;
    if (a0 === '-j') return ok(JSON.stringify([{ ifname: 'x', addr_info: this.addresses.map((x) => ({ family: 'inet', local: x.address, prefixlen: x.prefix })) }]));
    if (a0 === '-o' && line === '-o link show type bridge') {
      const bridges = [...this.links.keys()].filter((n) => n.startsWith('weft0-') || n === 'docker0');
      return ok(bridges.map((n, i) => `${i + 3}: ${n}: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP`).join('\n'));
    }
    if (a0 === '-n') return this.netns.has(a1!) ? ok() : fail('no such netns');
    if (a0 === 'netns' && a1 === 'exec' && args[3] === 'sysctl') return this.netns.has(a2!) ? ok() : fail('no such netns');
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

function setup(): { dir: string; kernel: FakeKernel; open: (range?: string, stateDir?: string) => Promise<PodNetwork> } {
  const dir = tempDir('weft-podnet-');
  const kernel = new FakeKernel(dir);
  const open = (podRange?: string, stateDir = dir): Promise<PodNetwork> =>
    PodNetwork.open({
      stateDir,
      ip: '/sbin/ip',
      iptables: '/sbin/iptables',
      procSys: kernel.procSys,
      runDir: kernel.runDir,
      podRange,
      run: kernel.run,
      kill: (pid) => kernel.killed.push(pid),
    });
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
  test('a pod’s IPv6 is off before its interface exists, so nothing reaches its app over link-local addresses', async () => {
    const { kernel, open } = setup();
    fs.mkdirSync(path.join(kernel.procSys, 'net', 'ipv6'), { recursive: true });
    const net = await open('10.70.0.0/24');
    const pod = await net.addPod(0, 'default', 'sleep');
    const off = kernel.log.indexOf(`netns exec ${pod.netns} sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1`);
    assert.ok(off > kernel.log.indexOf(`netns add ${pod.netns}`));
    assert.ok(off < kernel.log.findIndex((l) => l.startsWith(`link add ${pod.hostVeth} `)), kernel.log.join('\n'));
    await net.teardown();
  });

  test('a ledger entry whose name climbs out of /etc/netns is not followed', async () => {
    const { dir, kernel } = setup();
    const etc = tempDir('weft-etc-netns-');
    const victim = path.join(path.dirname(etc), `victim-${path.basename(etc)}`);
    fs.mkdirSync(victim);
    const name = `weft-${podNames(dir).mesh}-/../../${path.basename(victim)}`;
    fs.writeFileSync(path.join(dir, LEDGER_FILE), JSON.stringify({ version: 1, resources: [{ kind: 'hosts', name }] }));
    const net = await PodNetwork.open({ stateDir: dir, ip: '/sbin/ip', iptables: '/sbin/iptables', procSys: kernel.procSys, runDir: kernel.runDir, run: kernel.run, etcNetnsDir: etc });
    assert.ok(fs.existsSync(victim));
    await net.teardown();
    fs.rmSync(victim, { recursive: true, force: true });
    fs.rmSync(etc, { recursive: true, force: true });
  });

  test('a pod’s resolver files and capture rules are recorded, and teardown removes the hosts directory', async () => {
    const dir = tempDir('weft-podnet-');
    const etc = tempDir('weft-etc-netns-');
    const kernel = new FakeKernel(dir);
    const inPod: string[] = [];
    const run: CommandRunner = async (file, args) => {
      if (args[0] === 'netns' && args[1] === 'exec') {
        inPod.push(args.slice(2).join(' '));
        return { stdout: '', stderr: '' };
      }
      return kernel.run(file, args);
    };
    const net = await PodNetwork.open({
      stateDir: dir,
      ip: '/sbin/ip',
      iptables: '/sbin/iptables',
      procSys: kernel.procSys,
      runDir: kernel.runDir,
      podRange: '10.70.0.0/24',
      run,
      kill: () => undefined,
      etcNetnsDir: etc,
    });
    assert.notEqual(net.serviceSubnet.cidr, net.subnet.cidr, 'service VIPs never share the pods’ subnet');
    const pod = await net.addPod(0, 'default', 'sleep');
    net.writeResolverFiles(pod, { hosts: '198.18.0.11\tsleep\n', resolvConf: 'nameserver 127.0.0.1\n' });
    await net.capture(pod, { sidecarUid: 1337, outboundCapturePort: 15002, inboundPort: 15006, sidecarPorts: [15020] });
    assert.equal(fs.readFileSync(path.join(etc, pod.netns, 'hosts'), 'utf8'), '198.18.0.11\tsleep\n');
    assert.equal(fs.readFileSync(path.join(etc, pod.netns, 'resolv.conf'), 'utf8'), 'nameserver 127.0.0.1\n');
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

describe('PodNetwork host egress', () => {
  test('forwarding is turned on only if off, its old value restored at teardown', async () => {
    for (const before of ['0', '1']) {
      const { kernel, open } = setup();
      kernel.forwarding = before;
      const net = await open();
      assert.equal(kernel.forwarding, '1', `was ${before}`);
      assert.equal(fs.readFileSync(path.join(kernel['stateDir'], LEDGER_FILE), 'utf8').includes('"ip-forward"'), before === '0');
      await net.teardown();
      assert.equal(kernel.forwarding, before);
    }
  });

  test('two meshes share forwarding: the first to stop leaves it on, the last restores the value from before both', async () => {
    const { kernel, open } = setup();
    const otherDir = tempDir('weft-podnet-');
    const a = await open('10.70.0.0/24');
    const b = await open('10.71.0.0/24', otherDir);
    assert.equal(kernel.forwarding, '1');
    await a.teardown();
    assert.equal(kernel.forwarding, '1', 'the other mesh still relies on it');
    await b.teardown();
    assert.equal(kernel.forwarding, '0');
    assert.deepEqual(fs.existsSync(kernel.runDir) ? fs.readdirSync(kernel.runDir) : [], []);
  });

  test('forwarding that was on before any mesh is never recorded or touched', async () => {
    const { dir, kernel, open } = setup();
    kernel.forwarding = '1';
    const net = await open();
    assert.doesNotMatch(fs.readFileSync(path.join(dir, LEDGER_FILE), 'utf8'), /ip-forward/);
    await net.teardown();
    assert.equal(kernel.forwarding, '1');
  });

  test('the mesh’s own FORWARD and POSTROUTING chains, recorded first, each hooked by one jump', async () => {
    const { dir, kernel, open } = setup();
    const mesh = podNames(dir).mesh;
    const net = await open('10.70.0.0/24');
    assert.deepEqual(kernel.ledgerAtCreate, []);
    assert.deepEqual(kernel.chains.get('filter/FORWARD'), [`-j weft-${mesh}-forward`, '-j DOCKER-USER']);
    assert.deepEqual(kernel.chains.get(`filter/weft-${mesh}-forward`), [
      `-i ${net.bridge} -o ${net.bridge} -j ACCEPT`,
      `-i ${net.bridge} -o weft0-+ -j DROP`,
      `-i ${net.bridge} -j ACCEPT`,
      `-o ${net.bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
      `-o ${net.bridge} -j DROP`,
      '! -i weft0-+ ! -o weft0-+ -j DROP',
    ]);
    assert.deepEqual(kernel.chains.get('nat/POSTROUTING'), [`-j weft-${mesh}-masquerade`]);
    assert.deepEqual(kernel.chains.get(`nat/weft-${mesh}-masquerade`), [`-s 10.70.0.0/24 ! -o ${net.bridge} -j MASQUERADE`]);
    // Someone else adds a rule meanwhile: it must survive.
    kernel.chains.get('nat/POSTROUTING')!.push('-s 172.17.0.0/16 -j MASQUERADE');
    await net.teardown();
    assert.deepEqual(
      [...kernel.chains.entries()],
      [
        ['filter/FORWARD', ['-j DOCKER-USER']],
        ['nat/POSTROUTING', ['-s 172.17.0.0/16 -j MASQUERADE']],
        ['filter/DOCKER-USER', []],
      ],
    );
  });

  test('only pods’ traffic is forwarded where forwarding is weft’s: the final drop follows the forwarding claim', async () => {
    const finalDrop = '! -i weft0-+ ! -o weft0-+ -j DROP';
    const forwardRules = (k: FakeKernel, dir: string): string[] => k.chains.get(`filter/weft-${podNames(dir).mesh}-forward`) ?? [];
    // On before any mesh: the host already routed between its interfaces; weft changes nothing of that.
    const on = setup();
    on.kernel.forwarding = '1';
    const onNet = await on.open();
    assert.ok(!forwardRules(on.kernel, on.dir).includes(finalDrop));
    await onNet.teardown();
    // Off before: this mesh turned it on, and a second mesh sharing it keeps the drop when the first one stops.
    const off = setup();
    const otherDir = tempDir('weft-podnet-');
    const first = await off.open('10.70.0.0/24');
    const second = await off.open('10.71.0.0/24', otherDir);
    assert.equal(forwardRules(off.kernel, off.dir).at(-1), finalDrop);
    assert.equal(forwardRules(off.kernel, otherDir).at(-1), finalDrop);
    await first.teardown();
    assert.equal(off.kernel.forwarding, '1');
    assert.equal(forwardRules(off.kernel, otherDir).at(-1), finalDrop, 'the mesh still relying on weft’s forwarding keeps it closed');
    await second.teardown();
    assert.deepEqual(off.kernel.chains.get('filter/FORWARD'), ['-j DOCKER-USER']);
  });

  test('after a crash the next open removes the host chains and restores forwarding before making its own', async () => {
    const { dir, kernel, open } = setup();
    const mesh = podNames(dir).mesh;
    await open();
    // A crash: no teardown; forwarding still on.
    kernel.log = [];
    const second = await open();
    assert.deepEqual(kernel.chains.get('filter/FORWARD'), [`-j weft-${mesh}-forward`, '-j DOCKER-USER']);
    assert.ok(kernel.log.indexOf(`iptables -w -t filter -X weft-${mesh}-forward`) < kernel.log.indexOf(`iptables -w -t filter -N weft-${mesh}-forward`));
    await second.teardown();
    assert.equal(kernel.forwarding, '0', 'the value before the first run, not the crashed run’s');
    assert.ok(![...kernel.chains.keys()].some((k) => k.includes(mesh)));
  });

  test('a chain with the mesh’s name that the ledger does not list is refused, not adopted', async () => {
    const { dir, kernel, open } = setup();
    kernel.chains.set(`nat/weft-${podNames(dir).mesh}-masquerade`, ['-j RETURN']);
    await assert.rejects(open(), (e) => isWeftError(e, 'NETNS_CONFLICT') && /iptables chain/.test(e.message));
    assert.deepEqual(kernel.chains.get(`nat/weft-${podNames(dir).mesh}-masquerade`), ['-j RETURN']);
    // What this failed open had made is gone at once: bridge, FORWARD chain and jump, forwarding.
    assert.ok(!kernel.links.has(podNames(dir).bridge));
    assert.deepEqual(kernel.chains.get('filter/FORWARD'), ['-j DOCKER-USER']);
    assert.ok(!kernel.chains.has(`filter/weft-${podNames(dir).mesh}-forward`));
    assert.equal(kernel.forwarding, '0');
    assert.equal(fs.existsSync(path.join(dir, LEDGER_FILE)), false);
  });

  test('after a reboot a crashed run’s ledger never turns off forwarding someone else has turned on since', async () => {
    const { dir, kernel, open } = setup();
    await open();
    // A crash, then a reboot: /run/weft and weft's links are gone, and Docker has turned forwarding on.
    fs.rmSync(kernel.runDir, { recursive: true, force: true });
    kernel.links.delete(podNames(dir).bridge);
    kernel.chains = new Map([['filter/FORWARD', ['-j DOCKER-USER']], ['nat/POSTROUTING', []], ['filter/DOCKER-USER', []]]);
    kernel.forwarding = '1';
    const net = await open();
    assert.equal(kernel.forwarding, '1');
    await net.teardown();
    assert.equal(kernel.forwarding, '1', 'Docker’s forwarding is not weft’s to restore');
  });
});

/**
 * `weft up --isolation=netns`: every Workload and its sidecar in a network namespace of its own, traffic between
 * pods through their sidecars, apps unreachable on the host's loopback, the host's forwarding and masquerading in
 * the mesh's own chains (never into another mesh's bridge; nothing else forwarded where forwarding is weft's), and
 * nothing of the mesh left in the kernel (forwarding back as it was) after a clean stop. (After a crash:
 * pods-netns-crash.test.ts; bookinfo, netns by default: pods-netns-bookinfo.test.ts.) Root and `ip netns` are
 * required; without them the test is skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { LEDGER_FILE } from '../src/mesh/netns/index.js';
import { meshTraces, run } from './support/netns-traces.js';
import { addTestNetns, TEST_NETNS_PREFIX } from './support/test-netns.js';
import type { TestNetns } from './support/test-netns.js';
import { assertForwardingRestored, IP_FORWARD } from './support/ip-forward.js';
import { netnsMeshFile } from './support/netns-mesh-file.js';

const { skip, stateDir, digest, forwardingBefore, up } = await netnsMeshFile('pods-netns');

test('pods in network namespaces: isolation, traffic through sidecars, a clean stop', { skip, timeout: 170_000 }, async (t) => {
  const mesh = await up();

  await t.test('one namespace per workload, recorded in mesh.json and the ledger', async () => {
    const m = mesh.mesh();
    assert.equal(m.isolation, 'netns');
    const { stdout } = await run('ip', ['netns', 'list']);
    for (const w of m.workloads) {
      assert.ok(w.netns, `${w.name} has a namespace`);
      assert.ok(stdout.split('\n').some((l) => l.split(' ')[0] === w.netns), `${w.netns} in ip netns list`);
      assert.match(w.podIP, /^198\.1[89]\./);
      // The address lives inside the namespace, not on the host.
      const inPod = (await run('ip', ['-n', w.netns!, '-o', 'addr'])).stdout;
      assert.ok(inPod.includes(`${w.podIP}/`), `${w.podIP} inside ${w.netns}`);
    }
    assert.equal(new Set(m.workloads.map((w) => w.netns)).size, m.workloads.length);
    assert.ok(fs.existsSync(path.join(stateDir, LEDGER_FILE)));
  });

  await t.test('sleep reaches httpbin through the sidecars, with its identity', async () => {
    const r = await mesh.weft(['exec', 'sleep', '--', 'curl', '-s', '-m', '10', 'http://httpbin:8000/headers']);
    assert.equal(r.code, 0, r.stderr);
    const headers = (JSON.parse(r.stdout) as { headers: Record<string, string> }).headers;
    assert.match(headers['X-Forwarded-Client-Cert'] ?? '', /URI=spiffe:\/\/cluster\.local\/ns\/default\/sa\/sleep/);
  });

  await t.test('the host forwards and masquerades the pods’ traffic in this mesh’s own chains, one jump each', async () => {
    assert.equal(fs.readFileSync(IP_FORWARD, 'utf8').trim(), '1');
    const filter = (await run('iptables-save', ['-t', 'filter'])).stdout.split('\n');
    const nat = (await run('iptables-save', ['-t', 'nat'])).stdout.split('\n');
    assert.deepEqual(filter.filter((l) => l.startsWith('-A FORWARD') && l.includes(digest)), [`-A FORWARD -j weft-${digest}-forward`]);
    assert.deepEqual(nat.filter((l) => l.startsWith('-A POSTROUTING') && l.includes(digest)), [`-A POSTROUTING -j weft-${digest}-masquerade`]);
    const subnet = mesh.mesh().workloads[0]!.podIP.replace(/\.\d+$/, '.0/24');
    assert.ok(nat.some((l) => l.startsWith(`-A weft-${digest}-masquerade -s ${subnet} ! -o weft0-${digest} -j MASQUERADE`)), nat.join('\n'));
    const chain = filter.filter((l) => l.startsWith(`-A weft-${digest}-forward `));
    // Never into another mesh's pods, whatever order the meshes' jumps are in.
    assert.ok(chain.includes(`-A weft-${digest}-forward -i weft0-${digest} -o weft0-+ -j DROP`), chain.join('\n'));
    // Forwarding that was off before weft forwards nothing but pods' traffic; forwarding that was on is left alone.
    const finalDrop = `-A weft-${digest}-forward ! -i weft0-+ ! -o weft0-+ -j DROP`;
    if (forwardingBefore === '1') assert.ok(!chain.includes(finalDrop), chain.join('\n'));
    else assert.equal(chain.at(-1), finalDrop, chain.join('\n'));
  });

  await t.test('where forwarding is weft’s, the host does not route between two of its other interfaces', async (st) => {
    if (forwardingBefore === '1') return st.skip('forwarding was on before weft: the host routed before, and still does');
    const hostAddrs = (await run('ip', ['-o', '-4', 'addr'])).stdout;
    if (hostAddrs.includes(' 198.19.253.')) return st.skip('198.19.253.0/24 is in use on this machine');
    const ns = [`fwd-${process.pid}-a`, `fwd-${process.pid}-b`].map((p) => `${TEST_NETNS_PREFIX}${p}`) as [string, string];
    const made: TestNetns[] = [];
    try {
      // Two networks joined only through the host, like a second NIC and a VPN would be (not in 198.19.254.0/24,
      // which the egress test's outside network uses, maybe at the same time).
      for (const [i, name] of ns.entries()) {
        const host = `wfx${process.pid % 100000}${i}`;
        made.push(await addTestNetns(name.slice(TEST_NETNS_PREFIX.length)));
        await run('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name]);
        await run('ip', ['addr', 'add', `198.19.253.${4 * i + 1}/30`, 'dev', host]);
        await run('ip', ['link', 'set', host, 'up']);
        await run('ip', ['-n', name, 'addr', 'add', `198.19.253.${4 * i + 2}/30`, 'dev', 'eth0']);
        await run('ip', ['-n', name, 'link', 'set', 'eth0', 'up']);
        await run('ip', ['-n', name, 'route', 'add', 'default', 'via', `198.19.253.${4 * i + 1}`]);
      }
      // Nothing listens at port 9: a reachable address answers with a reset (curl exit 7), a dropped packet times out (28).
      const reachable = (to: string): Promise<boolean> =>
        run('ip', ['netns', 'exec', ns[0], 'curl', '-sS', '-m', '2', `http://${to}:9/`]).then(
          () => true,
          (err: { code?: number }) => err.code === 7,
        );
      // The drop that keeps a host from routing is every mesh's last forward rule (`! -i weft0-+ ! -o weft0-+ DROP`);
      // with other meshes running, whichever chain comes first in FORWARD counts it, and a mesh that stops meanwhile
      // takes its counter along: so the counters are read per chain and a round where the set of chains changed is
      // tried again.
      const drops = async (): Promise<Map<string, number>> => {
        const counts = new Map<string, number>();
        for (const chain of (await run('iptables', ['-w', '-t', 'filter', '-L', '-v', '-x', '-n'])).stdout.split(/\n(?=Chain )/)) {
          const name = /^Chain (weft-[0-9a-f]{6}-forward) /.exec(chain)?.[1];
          if (name === undefined) continue;
          const rule = chain.split('\n').find((l) => /\sDROP\s+\S+\s+--\s+!weft0-\+\s+!weft0-\+\s/.test(l));
          counts.set(name, Number(rule?.trim().split(/\s+/)[0] ?? 0));
        }
        return counts;
      };
      assert.ok(await reachable('198.19.253.1'), 'the first network reaches the host');
      let dropped = false;
      for (let round = 0; round < 3 && !dropped; round++) {
        const before = await drops();
        assert.equal(await reachable('198.19.253.6'), false, 'the host routed between two of its other interfaces');
        const after = await drops();
        const sameChains = before.size === after.size && [...before.keys()].every((k) => after.has(k));
        if (!sameChains) continue;
        dropped = [...after].some(([k, n]) => n > (before.get(k) ?? 0));
      }
      assert.ok(dropped, 'a mesh’s final forward rule dropped it');
    } finally {
      for (const n of made) await n.remove();
    }
  });

  await t.test('a pod asks its sidecar for names: its resolv.conf, and DNS to any server is captured', async () => {
    const conf = await mesh.weft(['exec', 'sleep', '--', 'cat', '/etc/resolv.conf']);
    assert.equal(conf.code, 0, conf.stderr);
    assert.equal(conf.stdout, 'nameserver 127.0.0.1\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n');
    const rules = (await run('ip', ['netns', 'exec', mesh.workload('sleep').netns!, 'iptables-save', '-t', 'nat'])).stdout;
    assert.match(rules, /-A OUTPUT -p udp -m udp --dport 53 -j WEFT_OUTPUT/);
    assert.match(rules, /-A WEFT_OUTPUT -p udp -m udp --dport 53 -j REDIRECT --to-ports 15053/);
  });

  await t.test('weft exec runs inside the pod: it sees the pod address and not the host', async () => {
    const r = await mesh.weft(['exec', 'sleep', '--', 'ip', '-o', 'addr']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes(mesh.workload('sleep').podIP));
    assert.ok(!r.stdout.includes(`weft0-${digest}`));
  });

  await t.test("the app's port is not reachable on the root namespace's 127.0.0.1", async () => {
    const res = await fetch('http://127.0.0.1:8080/headers', { signal: AbortSignal.timeout(3000) }).then(
      async (x) => x.text(),
      () => undefined,
    );
    assert.ok(res === undefined || !res.includes('"headers"'), 'httpbin answered on the host loopback');
  });

  await t.test('a clean stop removes every namespace, link, host chain and ledger entry, and restores forwarding', async () => {
    await mesh.stop('SIGTERM');
    assert.deepEqual(await meshTraces(digest), []);
    assert.equal(fs.existsSync(path.join(stateDir, LEDGER_FILE)), false);
    await assertForwardingRestored(forwardingBefore);
  });
});

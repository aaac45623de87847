import { test } from 'node:test';
import assert from 'node:assert/strict';
import { captureRules, installCaptureRules } from './capture-rules.js';

const options = { sidecarUid: 1337, outboundCapturePort: 15002, inboundPort: 15006, sidecarPorts: [15020, 15006] };

test('outgoing TCP is redirected to the capture port unless it is the sidecar’s or stays in the pod', () => {
  const output = captureRules(options).filter((r) => r[2] === '-A' && r[3] === 'WEFT_OUTPUT').map((r) => r.slice(4).join(' '));
  assert.deepEqual(output, [
    '-m owner --uid-owner 1337 -j RETURN',
    '-o lo -j RETURN',
    '-d 127.0.0.0/8 -j RETURN',
    '-p tcp -j REDIRECT --to-ports 15002',
  ]);
});

test('arriving TCP goes to the inbound port, except the sidecar’s own ports, each once', () => {
  const pre = captureRules(options).filter((r) => r[2] === '-A' && r[3] === 'WEFT_PREROUTING').map((r) => r.slice(4).join(' '));
  assert.deepEqual(pre, [
    '-i lo -j RETURN',
    '-p tcp --dport 15006 -j RETURN',
    '-p tcp --dport 15020 -j RETURN',
    '-p tcp -j REDIRECT --to-ports 15006',
  ]);
});

test('chains are created first and hooked last, all in the nat table, all named WEFT_*', () => {
  const rules = captureRules(options);
  for (const r of rules) assert.deepEqual(r.slice(0, 2), ['-t', 'nat']);
  assert.deepEqual(rules.slice(0, 2).map((r) => r.slice(2).join(' ')), ['-N WEFT_OUTPUT', '-N WEFT_PREROUTING']);
  assert.deepEqual(rules.slice(-2).map((r) => r.slice(2).join(' ')), ['-A OUTPUT -p tcp -j WEFT_OUTPUT', '-A PREROUTING -p tcp -j WEFT_PREROUTING']);
  for (const r of rules) if (r[2] === '-N') assert.match(r[3]!, /^WEFT_/);
});

test('with a DNS port, the app’s queries to any port 53 go to the sidecar, but not the sidecar’s own', () => {
  const rules = captureRules({ ...options, dnsPort: 15053 });
  const output = rules.filter((r) => r[2] === '-A' && r[3] === 'WEFT_OUTPUT').map((r) => r.slice(4).join(' '));
  assert.deepEqual(output, [
    '-m owner --uid-owner 1337 -j RETURN',
    '-p udp --dport 53 -j REDIRECT --to-ports 15053',
    '-p tcp --dport 53 -j REDIRECT --to-ports 15053',
    '-o lo -j RETURN',
    '-d 127.0.0.0/8 -j RETURN',
    '-p tcp -j REDIRECT --to-ports 15002',
  ]);
  const hooks = rules.filter((r) => r[2] === '-A' && (r[3] === 'OUTPUT' || r[3] === 'PREROUTING')).map((r) => r.slice(3).join(' '));
  assert.deepEqual(hooks, ['OUTPUT -p tcp -j WEFT_OUTPUT', 'OUTPUT -p udp --dport 53 -j WEFT_OUTPUT', 'PREROUTING -p tcp -j WEFT_PREROUTING']);
  // Other UDP is not captured (as in Istio): no rule sends it anywhere.
  assert.ok(!rules.some((r) => r.includes('udp') && !r.includes('53')));
});

test('rules are installed inside the pod’s namespace through ip netns exec, in order', async () => {
  const seen: string[][] = [];
  await installCaptureRules(async (file, args) => {
    seen.push([file, ...args]);
    return { stdout: '', stderr: '' };
  }, '/sbin/ip', 'weft-abc-default-sleep', options);
  assert.equal(seen.length, captureRules(options).length);
  for (const [i, c] of seen.entries()) {
    assert.deepEqual(c.slice(0, 5), ['/sbin/ip', 'netns', 'exec', 'weft-abc-default-sleep', 'iptables']);
    assert.deepEqual(c.slice(5), captureRules(options)[i]);
  }
});

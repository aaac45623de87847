/**
 * `weft capture-init` in a fresh network namespace installs exactly the rules `weft up` installs in its pods (the
 * same capture-rules.ts), as the injected init container would on Kubernetes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { captureRules } from '../src/mesh/netns/capture-rules.js';
import { addTestNetns } from './support/test-netns.js';
import { WEFT_BIN } from './support/mesh-process.js';

const run = promisify(execFile);

test('capture-init installs the pod capture rules in its own network namespace', { skip: process.getuid?.() !== 0 ? 'needs root (network namespaces)' : false }, async () => {
  const netns = await addTestNetns(`capinit-${randomBytes(3).toString('hex')}`);
  try {
    const { stdout } = await run('ip', ['netns', 'exec', netns.name, process.execPath, WEFT_BIN, 'capture-init', '--inbound-port', '15006']);
    const expected = captureRules({ sidecarUid: 1337, outboundCapturePort: 15002, inboundPort: 15006, sidecarPorts: [15020], dnsPort: 15053 });
    assert.match(stdout, new RegExp(`capture installed: ${expected.length} iptables rules`));
    const listed = (await run('ip', ['netns', 'exec', netns.name, 'iptables', '-t', 'nat', '-S'])).stdout;
    for (const rule of expected.filter((r) => r.includes('-A'))) {
      const chain = rule[rule.indexOf('-A') + 1]!;
      const target = rule.at(-1)!;
      assert.ok(listed.split('\n').some((l) => l.startsWith(`-A ${chain} `) && l.endsWith(target)), `missing: ${rule.join(' ')}\n${listed}`);
    }
    assert.match(listed, /-A WEFT_OUTPUT -m owner --uid-owner 1337 -j RETURN/);
    assert.match(listed, /-A WEFT_OUTPUT -p tcp -j REDIRECT --to-ports 15002/);
    assert.match(listed, /-A WEFT_PREROUTING -p tcp -j REDIRECT --to-ports 15006/);
    // Running it twice fails plainly (the chains exist), as istio-init does: an init container runs once per pod.
    await assert.rejects(run('ip', ['netns', 'exec', netns.name, process.execPath, WEFT_BIN, 'capture-init']), /iptables .* failed/);
  } finally {
    await netns.remove();
  }
});

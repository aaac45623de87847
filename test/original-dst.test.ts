/**
 * SO_ORIGINAL_DST through the native addon, against the real kernel: inside a network namespace this test
 * creates, an iptables REDIRECT of port 9 sends a connection to a listener on another port, and the listener
 * recovers where the connection was headed. Root and `ip netns` are required; without them the test is skipped.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { originalDst, originalDstUnavailableReason } from '../src/proxy/capture/original-dst.js';
import { addTestNetns } from './support/test-netns.js';
import type { TestNetns } from './support/test-netns.js';

const run = promisify(execFile);
const DIALLED = '198.18.251.7';
const LISTEN_PORT = 15099;
const ORIGINAL_DST_MODULE = new URL('../src/proxy/capture/original-dst.js', import.meta.url).href;

async function skipReason(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root to create a network namespace and iptables rules';
  const ip = await run('ip', ['netns', 'list']).catch((err: Error) => err);
  if (ip instanceof Error) return `ip netns is unavailable: ${ip.message}`;
  return undefined;
}

const skip = await skipReason();

let netns: TestNetns | undefined;
let NETNS = '';

before(async () => {
  if (skip) return;
  netns = await addTestNetns(`odst-${process.pid}`);
  NETNS = netns.name;
  for (const args of [
    ['link', 'set', 'lo', 'up'],
    // On loopback: no dummy-interface module needed, and the address exists only inside this namespace.
    ['addr', 'add', `${DIALLED}/32`, 'dev', 'lo'],
  ]) {
    await run('ip', ['-n', NETNS, ...args]);
  }
  await run('ip', ['netns', 'exec', NETNS, 'iptables', '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '--dport', '9', '-j', 'REDIRECT', '--to-port', String(LISTEN_PORT)]);
});

after(async () => {
  if (skip) return;
  await netns?.remove();
  const { stdout } = await run('ip', ['netns', 'list']);
  assert.ok(!stdout.includes(NETNS), 'the test namespace is gone');
});

// Runs inside the namespace: a listener on LISTEN_PORT, one connection to DIALLED:9 (redirected) and one straight
// to the listener (not redirected); prints what originalDst says about each accepted socket.
const PROBE = `
import net from 'node:net';
import { originalDst } from ${JSON.stringify(ORIGINAL_DST_MODULE)};
const seen = [];
const server = net.createServer((s) => {
  s.once('data', (d) => {
    seen.push({ tag: d.toString(), dst: originalDst(s) ?? null, local: s.localAddress + ':' + s.localPort });
    s.end();
    if (seen.length === 2) { console.log(JSON.stringify(seen)); server.close(); }
  });
});
server.listen(${LISTEN_PORT}, '0.0.0.0', () => {
  net.connect(9, ${JSON.stringify(DIALLED)}).end('redirected');
  setTimeout(() => net.connect(${LISTEN_PORT}, '127.0.0.1').end('direct'), 200);
});
setTimeout(() => { console.log(JSON.stringify(seen)); process.exit(1); }, 10000).unref();
`;

test('originalDst returns the address and port the app dialled before REDIRECT', { skip }, async () => {
  assert.equal(originalDstUnavailableReason(), undefined, 'the addon is built by npm ci');
  const { stdout } = await run('ip', ['netns', 'exec', NETNS, process.execPath, '--input-type=module', '-e', PROBE], { timeout: 15_000 });
  const seen = JSON.parse(stdout) as { tag: string; dst: { address: string; port: number } | null; local: string }[];
  const redirected = seen.find((s) => s.tag === 'redirected');
  const direct = seen.find((s) => s.tag === 'direct');
  assert.deepEqual(redirected?.dst, { address: DIALLED, port: 9 });
  // The listener's own address after REDIRECT is loopback: only the addon knows the original destination.
  assert.equal(redirected?.local, `127.0.0.1:${LISTEN_PORT}`);
  // Not redirected: conntrack's original destination is the listener itself.
  assert.deepEqual(direct?.dst, { address: '127.0.0.1', port: LISTEN_PORT });
});

test('originalDst is undefined for a socket without a descriptor', { skip }, () => {
  assert.equal(originalDst(new net.Socket()), undefined);
});

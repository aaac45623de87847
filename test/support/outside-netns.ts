/**
 * Test support: an "outside" network, a destination beyond the mesh that pods reach only through the host, as they
 * would reach the internet. A network namespace joined to the host by a veth pair (a /30 from 198.19.254.0/24,
 * inside the pod range 198.18.0.0/15 but on the host before `weft up` runs, so the mesh's pod subnet avoids it),
 * serving plain HTTP, HTTPS with a self-signed certificate and a TCP line echo (outside-servers.ts).
 * `close()` removes the namespace, both veth ends, the servers and the certificate directory.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onTeardown } from '../../bench/teardown.js';
import { run } from './netns-traces.js';
import { TEST_NETNS_PREFIX } from './test-netns.js';

export interface OutsideNetwork {
  /** `ip netns` name of the outside namespace. */
  netns: string;
  /** Where the servers listen (inside the outside namespace). */
  address: string;
  /** The host's end of the veth pair: the outside namespace's default gateway. */
  hostAddress: string;
  hostLink: string;
  ports: { http: number; https: number; tcp: number };
  /** The HTTPS server's self-signed certificate, the only thing a client needs to trust it (`curl --cacert`). */
  caFile: string;
  /** Everything the servers printed so far. */
  output(): string;
  close(): Promise<void>;
}

const SERVERS_SCRIPT = fileURLToPath(new URL('./outside-servers.js', import.meta.url));
/** Where outside networks are made unless a test names another /24 (tests that may run at once name different ones). */
const DEFAULT_BLOCK = '198.19.254';
const PORTS = { http: 80, https: 443, tcp: 9000 };

/** The first /30 of 198.19.254.0/24 with no address on this machine: a leftover of a crashed run is left alone. */
async function freeSlash30(block: string): Promise<{ host: string; outside: string }> {
  const taken = (await run('ip', ['-o', '-4', 'addr'])).stdout;
  for (let base = 0; base < 256; base += 4) {
    const host = `${block}.${base + 1}`;
    if (!taken.includes(` ${host}/`)) return { host, outside: `${block}.${base + 2}` };
  }
  throw new Error(`no free /30 left in ${block}.0/24 (leftovers of earlier runs? see ip -o addr)`);
}

function waitForLine(child: ChildProcess, pattern: RegExp, output: () => string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`outside servers did not start in ${timeoutMs} ms: ${output()}`)), timeoutMs);
    const check = (): void => {
      if (pattern.test(output())) done();
    };
    const exited = (code: number | null): void => done(new Error(`outside servers exited (${code}): ${output()}`));
    function done(err?: Error): void {
      clearTimeout(timer);
      child.stdout?.off('data', check);
      child.off('exit', exited);
      if (err) reject(err);
      else resolve();
    }
    child.stdout?.on('data', check);
    child.once('exit', exited);
  });
}

/**
 * Starts the outside network. `tlsNames` go into the HTTPS certificate's subjectAltName (wildcards allowed), so
 * clients can verify it under the names a test calls it by.
 */
export async function startOutsideNetwork(tlsNames: readonly string[], block = DEFAULT_BLOCK): Promise<OutsideNetwork> {
  const id = randomBytes(3).toString('hex');
  const netns = `${TEST_NETNS_PREFIX}outside-${id}`;
  const hostLink = `vout${id}h`;
  const outsideLink = `vout${id}o`;
  const certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-outside-'));
  let child: ChildProcess | undefined;
  let out = '';

  const close = async (): Promise<void> => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const c = child;
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    // Deleting the namespace destroys its veth end and with it the host's.
    await run('ip', ['netns', 'delete', netns]).catch(() => undefined);
    await run('ip', ['link', 'delete', hostLink]).catch(() => undefined);
    fs.rmSync(certDir, { recursive: true, force: true });
    unregister();
  };
  // Registered before anything is made: a cancelled test file still removes the namespace and its servers.
  const unregister = onTeardown({ what: `outside network ${netns}`, stop: close, kill: () => child?.kill('SIGKILL') });

  try {
    const { host, outside } = await freeSlash30(block);
    await run('ip', ['netns', 'add', netns]);
    await run('ip', ['link', 'add', hostLink, 'type', 'veth', 'peer', 'name', outsideLink, 'netns', netns]);
    await run('ip', ['addr', 'add', `${host}/30`, 'dev', hostLink]);
    await run('ip', ['link', 'set', hostLink, 'up']);
    await run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    await run('ip', ['-n', netns, 'addr', 'add', `${outside}/30`, 'dev', outsideLink]);
    await run('ip', ['-n', netns, 'link', 'set', outsideLink, 'up']);
    // Replies to pod addresses find their way back through the host even where the host does not masquerade.
    await run('ip', ['-n', netns, 'route', 'add', 'default', 'via', host]);

    const cert = path.join(certDir, 'cert.pem');
    const key = path.join(certDir, 'key.pem');
    const san = tlsNames.map((n) => `DNS:${n}`).join(',');
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', `/CN=${tlsNames[0] ?? 'outside.test'}`, '-addext', `subjectAltName=${san}`, '-keyout', key, '-out', cert,
    ]);

    child = spawn('ip', ['netns', 'exec', netns, process.execPath, SERVERS_SCRIPT], {
      env: {
        PATH: process.env['PATH'] ?? '',
        OUTSIDE_ADDRESS: outside,
        HTTP_PORT: String(PORTS.http),
        HTTPS_PORT: String(PORTS.https),
        TCP_PORT: String(PORTS.tcp),
        TLS_CERT: cert,
        TLS_KEY: key,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    await waitForLine(child, /outside ready/, () => out, 10_000);
    return { netns, address: outside, hostAddress: host, hostLink, ports: { ...PORTS }, caFile: cert, output: () => out, close };
  } catch (err) {
    await close();
    throw err;
  }
}

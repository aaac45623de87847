/**
 * Test support for pod tests: what the kernel and /etc show of one mesh (its objects carry the state directory's
 * digest in their names), and a last-resort removal of exactly those objects after a failed test.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

export const run = promisify(execFile);

/**
 * Why a pod test cannot run here, or undefined when it can: root, `ip netns`, and each of `tools` on the PATH
 * (scripts/install-system-deps.sh installs them in CI).
 */
export async function podTestSkipReason(tools: readonly string[]): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces and iptables rules in them';
  const ip = await run('ip', ['netns', 'list']).catch((err: Error) => err);
  if (ip instanceof Error) return `ip netns is unavailable: ${ip.message}`;
  for (const tool of tools) {
    const found = await run('sh', ['-c', `command -v ${tool}`]).catch(() => undefined);
    if (!found) return `${tool} is not installed (scripts/install-system-deps.sh installs it)`;
  }
  return undefined;
}

/** Namespaces, links and /etc/netns directories of this mesh, and its chains and rules in the host's iptables/nftables. */
export async function meshTraces(digest: string): Promise<string[]> {
  const traces: string[] = [];
  const netns = (await run('ip', ['netns', 'list'])).stdout;
  traces.push(...netns.split('\n').filter((l) => l.includes(digest)).map((l) => `netns ${l}`));
  const links = (await run('ip', ['-o', 'link'])).stdout;
  traces.push(...links.split('\n').filter((l) => l.includes(digest)).map((l) => `link ${l}`));
  const etc = fs.existsSync('/etc/netns') ? fs.readdirSync('/etc/netns') : [];
  traces.push(...etc.filter((d) => d.includes(digest)).map((d) => `/etc/netns/${d}`));
  for (const [cmd, args] of [
    ['iptables-save', []],
    ['nft', ['list', 'ruleset']],
  ] as const) {
    const out = await run(cmd, [...args]).catch(() => ({ stdout: '' }));
    // Only this mesh's: other meshes on the machine have chains of their own, named with their digest.
    traces.push(...out.stdout.split('\n').filter((l) => l.includes(digest)).map((l) => `${cmd} ${l}`));
  }
  return traces;
}

/** Whatever a failed assertion left: remove this mesh's objects only. */
export async function removeMeshObjects(digest: string): Promise<void> {
  const { stdout } = await run('ip', ['netns', 'list']);
  for (const line of stdout.split('\n')) {
    const name = line.split(' ')[0];
    if (name?.includes(digest)) await run('ip', ['netns', 'delete', name]).catch(() => undefined);
  }
  await run('ip', ['link', 'delete', `weft0-${digest}`]).catch(() => undefined);
  for (const [table, hook, chain] of [
    ['filter', 'FORWARD', `weft-${digest}-forward`],
    ['nat', 'POSTROUTING', `weft-${digest}-masquerade`],
  ] as const) {
    while (await run('iptables', ['-w', '-t', table, '-D', hook, '-j', chain]).then(() => true, () => false));
    await run('iptables', ['-w', '-t', table, '-F', chain]).catch(() => undefined);
    await run('iptables', ['-w', '-t', table, '-X', chain]).catch(() => undefined);
  }
  if (fs.existsSync('/etc/netns')) {
    for (const d of fs.readdirSync('/etc/netns')) if (d.includes(digest)) fs.rmSync(path.join('/etc/netns', d), { recursive: true, force: true });
  }
}

/** `weft status`: the control plane and every proxy: connected, config synced or stale, certificate expiry, mTLS mode. */
import fs from 'node:fs';
import type { Command } from 'commander';
import { stateDirLayout } from '../mesh/state-dir.js';
import type { MeshFile } from '../mesh/mesh-file.js';
import { Option } from 'commander';
import type { ProxyStatus } from '../control/push-server.js';
import { ControlClient } from './client.js';
import { processOutput, runVerb } from './verb-failure.js';
import { formatTable } from './text-table.js';

export function formatStatus(address: string, proxies: ProxyStatus[], now = Date.now()): string {
  const rows: string[][] = [];
  for (const p of proxies) {
    const synced = p.sentVersion !== null && p.sentVersion === p.ackedVersion;
    const expires = p.certNotAfter ? `${Math.round((Date.parse(p.certNotAfter) - now) / 60_000)}m` : '-';
    rows.push([
      p.id,
      p.connected ? 'yes' : 'no',
      p.compileError ? 'ERROR' : synced ? 'SYNCED' : 'STALE',
      p.ackedVersion ?? '-',
      expires,
      p.mtlsMode ?? '-',
      p.lastNack ? `${p.lastNack.version}: ${p.lastNack.reason}` : '-',
    ]);
  }
  return `control plane: ${address} (reachable)\n${formatTable(['PROXY', 'CONNECTED', 'CONFIG', 'VERSION', 'CERT EXPIRES', 'MTLS', 'LAST NACK'], rows)}`;
}

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description("the control plane and each proxy's connection, config version, certificate and mTLS mode")
    .addOption(new Option('-o, --output <format>', 'json for machine-readable output').choices(['json']))
    .action(async (opts: { output?: string }, cmd: Command) =>
      runVerb(processOutput, async () => {
        const { stateDir } = cmd.optsWithGlobals<{ stateDir: string }>();
        const client = await ControlClient.fromStateDir(stateDir, cmd.optsWithGlobals());
        try {
          const proxies = (await client.proxies()) as ProxyStatus[];
          const published = publishedPorts(stateDir);
          if (opts.output === 'json') process.stdout.write(`${JSON.stringify({ control: client.address, proxies, published }, null, 2)}\n`);
          else process.stdout.write(`${formatStatus(client.address, proxies)}${formatPublished(published)}`);
        } finally {
          await client.close();
        }
      }),
    );
}

/** The gateway's server ports as `weft up` published them (mesh.json), if this state directory runs a local mesh. */
function publishedPorts(stateDir: string): Record<string, string> {
  try {
    const mesh = JSON.parse(fs.readFileSync(stateDirLayout(stateDir).meshFile, 'utf8')) as MeshFile;
    return mesh.gateway?.listeners ?? {};
  } catch {
    return {};
  }
}

export function formatPublished(published: Record<string, string>): string {
  const entries = Object.entries(published);
  if (entries.length === 0) return '';
  return `gateway ports published: ${entries.map(([port, at]) => `${port} -> ${at}`).join(', ')}\n`;
}

/** `weft status`: the control plane and every proxy: connected, config synced or stale, certificate expiry, mTLS mode. */
import type { Command } from 'commander';
import type { ProxyStatus } from '../control/push-server.js';
import { ControlClient, processOutput, runVerb } from './client.js';

export function formatStatus(address: string, proxies: ProxyStatus[], now = Date.now()): string {
  const rows: string[][] = [['PROXY', 'CONNECTED', 'CONFIG', 'VERSION', 'CERT EXPIRES', 'MTLS', 'LAST NACK']];
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
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const table = rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
  return `control plane: ${address} (reachable)\n${table}`;
}

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description("the control plane and each proxy's connection, config version, certificate and mTLS mode")
    .option('-o, --output <format>', 'json for machine-readable output')
    .action(async (opts: { output?: string }, cmd: Command) =>
      runVerb(processOutput, async () => {
        const { stateDir } = cmd.optsWithGlobals<{ stateDir: string }>();
        const client = await ControlClient.fromStateDir(stateDir);
        try {
          const proxies = (await client.proxies()) as ProxyStatus[];
          if (opts.output === 'json') process.stdout.write(`${JSON.stringify({ control: client.address, proxies }, null, 2)}\n`);
          else process.stdout.write(`${formatStatus(client.address, proxies)}\n`);
        } finally {
          await client.close();
        }
      }),
    );
}

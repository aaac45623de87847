/**
 * `weft capture-init`: installs a pod's transparent capture in the network namespace it runs in, what Istio's
 * istio-init container does with `istio-iptables`. On Kubernetes it is the injected init container (NET_ADMIN and
 * NET_RAW, nothing else); `weft up` installs the same rules itself (capture-rules.ts), through `ip netns exec`.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { CAPTURE_OUTBOUND_PORT, SIDECAR_ADMIN_PORT, SIDECAR_UID, captureRules } from '../mesh/netns/capture-rules.js';
import { SIDECAR_DNS_PORT } from '../proxyconfig/types.js';
import { WeftError } from '../errors.js';
import { processOutput, runVerb } from './verb-failure.js';
import { portNumber } from './flag-values.js';

const run = promisify(execFile);

interface CaptureInitOptions {
  inboundPort: number;
  capturePort: number;
  adminPort: number;
  dnsPort?: number;
  captureDns: boolean;
  proxyUid: string;
}

function uid(value: string): string {
  if (!/^\d{1,10}$/.test(value)) throw new WeftError('BAD_REQUEST', `--proxy-uid ${value} is not a uid`);
  return value;
}

export function registerCaptureInitCommand(program: Command): void {
  program
    .command('capture-init')
    .description("install this network namespace's capture rules (the sidecar's init container)")
    .option('--inbound-port <port>', "the sidecar's inbound port", portNumber, 15006)
    .option('--capture-port <port>', 'where captured outgoing TCP goes', portNumber, CAPTURE_OUTBOUND_PORT)
    .option('--admin-port <port>', "the sidecar's metrics and readiness port (not captured)", portNumber, SIDECAR_ADMIN_PORT)
    .option('--dns-port <port>', "the sidecar's DNS proxy port", portNumber, SIDECAR_DNS_PORT)
    .option('--no-capture-dns', 'leave DNS queries alone')
    .option('--proxy-uid <uid>', 'the uid the sidecar runs as (its own traffic is not captured)', uid, String(SIDECAR_UID))
    .action(async (opts: CaptureInitOptions) =>
      runVerb(processOutput, async () => {
        const rules = captureRules({
          sidecarUid: Number(opts.proxyUid),
          outboundCapturePort: opts.capturePort,
          inboundPort: opts.inboundPort,
          sidecarPorts: [opts.adminPort],
          ...(opts.captureDns ? { dnsPort: opts.dnsPort ?? SIDECAR_DNS_PORT } : {}),
        });
        for (const args of rules) {
          try {
            await run('iptables', args);
          } catch (err) {
            throw new WeftError('BAD_REQUEST', `iptables ${args.join(' ')} failed: ${(err as { stderr?: string }).stderr?.trim() ?? (err as Error).message}`);
          }
        }
        process.stdout.write(`capture installed: ${rules.length} iptables rules\n`);
      }),
    );
}

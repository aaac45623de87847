/**
 * Many simulated proxies in one process, each a real `ControlConnection` over its own mTLS push stream (ALPN weft-push/1) with
 * its own SVID (signed through a bootstrap token, as a sidecar's first certificate is). A config is acknowledged
 * with its version without being compiled into matchers: this measures the control plane, not proxy start-up.
 * Prints `connected <n>` lines as streams come up and `ack <namespace/name> <version> <epoch ms>` for every config
 * applied, then waits to be killed.
 */
import fs from 'node:fs';
import 'reflect-metadata';
import { ControlConnection } from '../src/proxy/control/control-connection.js';
import { replicaKey, replicaOrder } from '../src/proxy/control/replica-order.js';
import type { ConfigAcceptor, ReceivedConfig } from '../src/proxy/control/config-receiver.js';
import { WorkloadCertificate } from '../src/proxy/tls/workload-certificate.js';
import type { ProxyLog } from '../src/proxy/proxy-runtime.js';
import { systemClock } from '../src/clock.js';
import { CONTROL_PLANE_SERVICE_ACCOUNT } from '../src/push/protocol.js';

export interface SimulatedProxySpec {
  namespace: string;
  name: string;
  serviceAccount: string;
  podIP: string;
  token: string;
}

export interface SimulatedProxiesInput {
  /** Every replica; each proxy orders them as a proxy does (replica-order.ts). */
  controlUrls: string[];
  caBundleFile: string;
  trustDomain: string;
  controlNamespace: string;
  proxies: SimulatedProxySpec[];
  /** How many certificates to request at once. */
  concurrency: number;
}

const input = JSON.parse(fs.readFileSync(process.argv[2] ?? '', 'utf8')) as SimulatedProxiesInput;
const bootstrapCaPem = fs.readFileSync(input.caBundleFile, 'utf8');
const quiet: ProxyLog = { info: () => undefined, warn: () => undefined };
const controlSpiffeId = `spiffe://${input.trustDomain}/ns/${input.controlNamespace}/sa/${CONTROL_PLANE_SERVICE_ACCOUNT}`;
const connections: ControlConnection<ReceivedConfig>[] = [];
// Configs are taken as they arrive (deltas merged, not checked or compiled): the bench measures the control plane,
// and 2,000 proxies compiling on the control plane's two cores would measure them instead.
const asReceived: ConfigAcceptor<ReceivedConfig> = { whole: (raw) => ({ raw }), merged: (raw) => ({ raw }) };
let failures = 0;
let acks: string[] = [];
function ackLine(line: string): void {
  if (acks.length === 0) {
    setImmediate(() => {
      process.stdout.write(acks.join(''));
      acks = [];
    });
  }
  acks.push(line);
}

async function startOne(p: SimulatedProxySpec): Promise<void> {
  const cert = new WorkloadCertificate(`spiffe://${input.trustDomain}/ns/${p.namespace}/sa/${p.serviceAccount}`, systemClock, () => undefined);
  const control = new ControlConnection<ReceivedConfig>({
    acceptor: asReceived,
    urls: replicaOrder(input.controlUrls, replicaKey(p.namespace, p.serviceAccount)),
    bootstrapCaPem,
    controlSpiffeId,
    cert,
    node: { role: 'sidecar', namespace: p.namespace, name: p.name, podIP: p.podIP },
    clock: systemClock,
    log: quiet,
    onConfig: (config) => {
      const version = String((config.raw as { version?: unknown }).version ?? '');
      // When this proxy applied (and so ACKs) each version, by the wall clock the bench shares with this process;
      // written once per turn of the event loop, not one pipe write per proxy.
      ackLine(`ack ${p.namespace}/${p.name} ${version} ${Date.now()}\n`);
      return Promise.resolve(version);
    },
    // A simulated proxy balances nothing; it reports only that.
    runtimeReport: () => ({ configVersion: null, time: new Date().toISOString(), certificates: [], clusters: [], truncated: false }),
  });
  // A busy control plane may time a signing request out before it consumed the token: try again, a few times.
  for (let attempt = 1; ; attempt++) {
    try {
      await cert.issue((csr) => control.signWithToken(csr, p.token, { namespace: p.namespace, serviceAccount: p.serviceAccount, workload: p.name }));
      break;
    } catch (err) {
      if (attempt >= 5 || /TOKEN_|refused \(4\d\d\)/.test((err as Error).message)) throw err;
      await new Promise((r) => setTimeout(r, 1000 * attempt));
    }
  }
  // Nothing renews: a bench run is far shorter than a certificate's life.
  connections.push(control);
  control.start();
}

const queue = [...input.proxies];
await Promise.all(
  Array.from({ length: Math.max(1, input.concurrency) }, async () => {
    for (let p = queue.shift(); p !== undefined; p = queue.shift()) {
      await startOne(p).catch((err: unknown) => {
        failures++;
        process.stderr.write(`${p?.name}: ${(err as Error).message}\n`);
      });
    }
  }),
);
process.stdout.write(`started ${connections.length} failed ${failures}\n`);
const report = setInterval(() => process.stdout.write(`connected ${connections.filter((c) => c.connected).length}\n`), 500);
const stop = (): void => {
  clearInterval(report);
  for (const c of connections) c.stop();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

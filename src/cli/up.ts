/**
 * `weft up PATH...`: validate the files, start the mesh, print what runs where, stay in the foreground until
 * Ctrl-C or SIGTERM, then stop everything it started.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { loadResources } from '../config/load.js';
import { LocalMesh } from '../mesh/local-mesh.js';
import { chooseIsolation, DEFAULT_POD_RANGE } from '../mesh/netns/index.js';
import type { Isolation } from '../mesh/netns/index.js';
import { exitWhenOrphaned } from '../parent-watch.js';
import { formatMeshTable } from './mesh-table.js';
import { processOutput, runVerb } from './verb-failure.js';
import { WeftError } from '../errors.js';
import { caFilesOf } from './ca-files.js';
import { existingFile, ipv4Cidr, portMapping, portNumber, positiveDuration } from './flag-values.js';
import { etcdEndpoints, etcdTlsOf, storeKind } from './store-flags.js';
import type { LocalStore } from '../mesh/local-store.js';
import { InvalidArgumentError } from 'commander';

interface UpOptions {
  ingressPort: number;
  publish?: Map<number, number>;
  caCert?: string;
  caKey?: string;
  caChain?: string;
  isolation?: Isolation;
  podRange?: string;
  historyRetention?: number;
  auditSignInterval?: number;
  store: 'sqlite' | 'etcd';
  etcdEndpoints?: string[];
  etcdCacert?: string;
  etcdCert?: string;
  etcdKey?: string;
  etcdMembers: number;
  controlReplicas: number;
  prometheus?: boolean;
  prometheusInterval: number;
}

export function registerUpCommand(program: Command): void {
  program
    .command('up')
    .description('run a whole mesh on this machine: control plane, every Workload with its sidecar, the ingress gateway')
    .argument('<path...>', 'YAML files or directories')
    .option('--ingress-port <port>', 'host port for the ingress gateway', portNumber, 8080)
    .option('--publish <GATEWAY_PORT=HOST_PORT>', 'publish a Gateway server port on this host port (repeatable; --ingress-port is the shorthand for the first)', portMapping)
    .option('--ca-cert <file>', 'run the CA as this (intermediate) certificate', existingFile)
    .option('--ca-key <file>', 'private key of --ca-cert', existingFile)
    .option('--ca-chain <file>', 'certificates from --ca-cert up to the root', existingFile)
    .addOption(
      new Option(
        '--isolation <mode>',
        'netns: each Workload and its sidecar in a network namespace of its own, the app\'s TCP and DNS captured by its sidecar (needs root); none: every workload on loopback, not isolated (default: netns when this machine can run it, else none)',
      ).choices(['none', 'netns']),
    )
    .option('--pod-range <cidr>', `netns: the range the pods' /24 is taken from (default: MeshConfig podRange, else ${DEFAULT_POD_RANGE})`, ipv4Cidr)
    .option('--history-retention <duration>', 'how long the control plane keeps resource history (default: every revision, forever)', positiveDuration)
    .option('--audit-sign-interval <duration>', 'how often the control plane signs the audit chain head (default: 1m; also at stop)', positiveDuration)
    .option('--store <kind>', 'sqlite (one control plane) or etcd (replicas can share it)', storeKind, 'sqlite')
    .option('--etcd-endpoints <urls>', 'etcd: use these members instead of starting local ones', etcdEndpoints)
    .option('--etcd-cacert <file>', 'etcd: with --etcd-endpoints (https://), the CA the members\' certificates chain to', existingFile)
    .option('--etcd-cert <file>', 'etcd: with --etcd-endpoints, the client certificate replicas present', existingFile)
    .option('--etcd-key <file>', 'etcd: private key of --etcd-cert', existingFile)
    .option('--etcd-members <n>', 'etcd: how many local members to start (1 or 3)', memberCount, 1)
    .option('--control-replicas <n>', 'etcd: how many control-plane replicas to run (proxies fail over between them)', replicaCount, 1)
    .option('--prometheus', "also run Prometheus (scraping every sidecar and the control plane) and Alertmanager with the mesh's alert rules")
    .option('--prometheus-interval <duration>', "Prometheus's scrape and rule evaluation interval", positiveDuration, 15_000)
    .action(async (paths: string[], opts: UpOptions, cmd: Command) =>
      runVerb(processOutput, async () => {
        const { stateDir } = cmd.optsWithGlobals<{ stateDir: string }>();
        const caFiles = caFilesOf(opts);
        const resources = await loadResources(paths, { stdin: process.stdin });
        const { isolation, notice } = await chooseIsolation(opts.isolation);
        if (notice !== undefined) process.stdout.write(`${notice}\n`);
        const mesh = new LocalMesh({
          stateDir,
          resources,
          ingressPort: opts.ingressPort,
          ...(opts.publish === undefined ? {} : { publish: opts.publish }),
          caFiles,
          isolation,
          podRange: opts.podRange,
          historyRetentionMs: opts.historyRetention,
          auditSignIntervalMs: opts.auditSignInterval,
          store: localStoreOf(opts),
          ...(opts.prometheus === true ? { prometheus: { interval: `${opts.prometheusInterval}ms` } } : {}),
          log: (line) => process.stdout.write(`${line}\n`),
        });
        let stopping: Promise<void> | undefined;
        const stop = (): void => {
          stopping ??= mesh.stop().then(() => process.exit(0));
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
        process.on('SIGHUP', stop);
        // Started by a program that names itself (a test, a bench, a supervisor): stop with it even if it was
        // killed outright and could not stop this mesh.
        exitWhenOrphaned((key) => process.env[key], stop);
        try {
          const started = Date.now();
          await mesh.start();
          process.stdout.write(formatMeshTable(mesh.meshFile()));
          const mode = isolation === 'netns' ? 'isolation netns (a network namespace per pod)' : 'isolation none (loopback, not isolated)';
          process.stdout.write(`mesh is up in ${((Date.now() - started) / 1000).toFixed(1)} s; ${mode}; state in ${mesh.layout.root}; Ctrl-C stops it\n`);
        } catch (err) {
          await mesh.stop();
          throw err;
        }
        await new Promise(() => undefined);
      }),
    );
}

/** --ca-cert and --ca-key go together; --ca-chain only with them. */
function memberCount(value: string): number {
  if (value !== '1' && value !== '3') throw new InvalidArgumentError('Expected 1 or 3 (an etcd cluster needs a majority).');
  return Number(value);
}

function replicaCount(value: string): number {
  if (!/^[1-9]$/.test(value)) throw new InvalidArgumentError('Expected 1 to 9.');
  return Number(value);
}

function localStoreOf(opts: UpOptions): LocalStore {
  if (opts.store === 'sqlite') {
    if (opts.controlReplicas > 1 || opts.etcdEndpoints !== undefined || opts.etcdMembers !== 1) {
      throw new WeftError('BAD_REQUEST', '--control-replicas, --etcd-endpoints and --etcd-members need --store etcd (SQLite serves one control plane)');
    }
    if (opts.etcdCacert !== undefined || opts.etcdCert !== undefined || opts.etcdKey !== undefined) throw new WeftError('BAD_REQUEST', '--etcd-cacert, --etcd-cert and --etcd-key need --store etcd');
    return { kind: 'sqlite' };
  }
  if (opts.etcdEndpoints === undefined) {
    // Local members get certificates weft up makes; the client TLS flags describe a cluster given by address.
    if (opts.etcdCacert !== undefined || opts.etcdCert !== undefined || opts.etcdKey !== undefined) throw new WeftError('BAD_REQUEST', '--etcd-cacert, --etcd-cert and --etcd-key go with --etcd-endpoints');
    return { kind: 'etcd', replicas: opts.controlReplicas, members: opts.etcdMembers };
  }
  const tls = etcdTlsOf(opts, opts.etcdEndpoints);
  return { kind: 'etcd', replicas: opts.controlReplicas, members: opts.etcdMembers, endpoints: opts.etcdEndpoints, ...(tls === undefined ? {} : { tls }) };
}

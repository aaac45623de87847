/** `weft control`: run the control plane in the foreground (normally started by `weft up`). */
import type { Command } from 'commander';
import { runControlPlane } from '../control/control-plane.js';
import { meshConfigWithDefaults } from '../config/kinds/mesh-config.js';
import { processOutput, runVerb } from './verb-failure.js';
import { exitWhenOrphaned } from '../parent-watch.js';
import { existingFile, ipv4Cidr, ipv4HostPort, namespaceName, positiveDuration, trustDomain } from './flag-values.js';
import { caFilesOf } from './ca-files.js';
import { etcdEndpoints, etcdPrefix, storeChoiceOf, storeKind } from './store-flags.js';
import { applyRuntimeV8Flags, CONTROL_PLANE_MALLOC_ENV, CONTROL_PLANE_V8_FLAGS, missingAllocatorSettings } from '../control/allocator-settings.js';
import { controlLog } from '../control/control-log.js';
import type { StoreFlags } from './store-flags.js';

interface ControlOptions extends StoreFlags {
  listen: string;
  trustDomain: string;
  rootNamespace: string;
  caCert?: string;
  caKey?: string;
  caChain?: string;
  serviceCidr?: string;
  historyRetention?: number;
  auditSignInterval: number;
  metricsListen?: string;
}

export function registerControlCommand(program: Command): void {
  program
    .command('control')
    .description('run the control plane: store, registry, CA, push stream and API')
    .option('--listen <host:port>', 'address of the push stream and API', ipv4HostPort, '127.0.0.1:15012')
    .option('--trust-domain <domain>', 'SPIFFE trust domain', trustDomain, 'cluster.local')
    .option('--root-namespace <ns>', 'namespace whose policies apply mesh-wide', namespaceName, 'weft-system')
    .option('--ca-cert <file>', 'run the CA as this (intermediate) certificate', existingFile)
    .option('--ca-key <file>', 'private key of --ca-cert', existingFile)
    .option('--ca-chain <file>', 'certificates from --ca-cert up to the root', existingFile)
    .option('--service-cidr <cidr>', 'IPv4 range to give each service a virtual address from (e.g. 198.19.200.0/24)', ipv4Cidr)
    .option('--history-retention <duration>', 'how long resource history is kept (default: every revision, forever)', positiveDuration)
    .option('--audit-sign-interval <duration>', 'how often the audit chain head is signed (also at stop)', positiveDuration, 60_000)
    .option('--store <kind>', 'sqlite (in the state directory, one process) or etcd (shared by replicas)', storeKind, 'sqlite')
    .option('--etcd-endpoints <urls>', 'comma-separated client URLs of the etcd members', etcdEndpoints)
    .option('--etcd-prefix <prefix>', "key prefix of this mesh's data in etcd", etcdPrefix, 'weft/')
    .option('--etcd-cacert <file>', 'etcd: CA certificates the members\' certificates must chain to (https:// endpoints)', existingFile)
    .option('--etcd-cert <file>', 'etcd: client certificate, for members that check clients (--client-cert-auth)', existingFile)
    .option('--etcd-key <file>', 'etcd: private key of --etcd-cert', existingFile)
    .option('--sealing-key <file>', 'the 32-byte key shared secrets are sealed under in etcd, the same for every replica', existingFile)
    .option('--metrics-listen <host:port>', 'plaintext Prometheus listener (/metrics), as istiod serves on 15014', ipv4HostPort)
    .action(async (opts: ControlOptions, cmd: Command) =>
      runVerb(processOutput, async () => {
        const { stateDir } = cmd.optsWithGlobals<{ stateDir: string }>();
        const bootstrap = meshConfigWithDefaults({ trustDomain: opts.trustDomain, rootNamespace: opts.rootNamespace });
        const caFiles = caFilesOf(opts);
        // GC heuristics V8 reads as it goes (NODE_OPTIONS cannot carry them): set before the first snapshot is built.
        applyRuntimeV8Flags();
        const cp = await runControlPlane({
          stateDir,
          listen: opts.listen,
          bootstrap,
          caFiles,
          serviceCidr: opts.serviceCidr,
          historyRetentionMs: opts.historyRetention,
          auditSignIntervalMs: opts.auditSignInterval,
          store: storeChoiceOf(opts),
          ...(opts.metricsListen === undefined ? {} : { metricsListen: opts.metricsListen }),
        });
        // glibc reads these only at start: say so when whoever started this process did not set them.
        const missing = missingAllocatorSettings(process.env, process.execArgv);
        if (missing.length > 0) {
          controlLog().warn('started without the allocator settings; peak memory with thousands of proxies is higher', {
            missing,
            set: [...Object.entries(CONTROL_PLANE_MALLOC_ENV).map(([k, v]) => `${k}=${v}`), `NODE_OPTIONS=${CONTROL_PLANE_V8_FLAGS.join(' ')}`].join(' '),
          });
        }
        const stop = (): void => void cp.stop().then(() => process.exit(0));
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
        exitWhenOrphaned((k) => process.env[k], stop);
      }),
    );
}

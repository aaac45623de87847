/**
 * The `weft` command: one file per verb, each registering itself here. Only the verb being run is loaded (with
 * everything it imports): `weft exec` and `weft status` are called in loops by scripts and tests, and loading every
 * verb's dependencies (the control plane, the proxy, the local runtime) cost each call several times its own work.
 * Help, or a word that is no verb, loads them all so commander can list and suggest. A usage error is one line on
 * stderr and exit status 1 (no help text after it: a script reads the line, a person asks for --help).
 */
import fs from 'node:fs';
import { Command } from 'commander';
import { DEFAULT_STATE_DIR } from '../mesh/state-dir.js';

type Register = (program: Command) => void;

const VERBS: Record<string, () => Promise<Register>> = {
  up: async () => (await import('./up.js')).registerUpCommand,
  apply: async () => (await import('./apply.js')).registerApplyCommand,
  analyze: async () => (await import('./analyze.js')).registerAnalyzeCommand,
  get: async () => (await import('./get.js')).registerGetCommand,
  delete: async () => (await import('./delete.js')).registerDeleteCommand,
  audit: async () => (await import('./audit.js')).registerAuditCommand,
  history: async () => (await import('./history.js')).registerHistoryCommand,
  diff: async () => (await import('./history.js')).registerDiffCommand,
  rollback: async () => (await import('./history.js')).registerRollbackCommand,
  exec: async () => (await import('./exec.js')).registerExecCommand,
  status: async () => (await import('./status.js')).registerStatusCommand,
  authz: async () => (await import('./authz.js')).registerAuthzCommand,
  route: async () => (await import('./route.js')).registerRouteCommand,
  'proxy-config': async () => (await import('./proxy-config.js')).registerProxyConfigCommand,
  auth: async () => (await import('./auth.js')).registerAuthCommand,
  control: async () => (await import('./control.js')).registerControlCommand,
  proxy: async () => (await import('./proxy.js')).registerProxyCommand,
  'capture-init': async () => (await import('./capture-init.js')).registerCaptureInitCommand,
};

/** The verb named on the command line: the first word that is not a global option or its value. */
function verbOf(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--state-dir' || a === '--credential-file') i++;
    else if (!a.startsWith('-')) return a;
    else if (!a.startsWith('--state-dir=') && !a.startsWith('--credential-file=')) return undefined;
  }
  return undefined;
}

const { version } = JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('weft')
  .description('weft: a zero-trust service mesh')
  .version(version, '-V, --version', 'print the version of weft')
  .option('--state-dir <dir>', 'state directory of the mesh', DEFAULT_STATE_DIR)
  .option('--credential-file <file>', 'API credential to act with (default: $WEFT_CREDENTIAL, else the mesh-admin credential in the state directory)');

const verb = verbOf(process.argv.slice(2));
const wanted = verb !== undefined && verb in VERBS && !process.argv.includes('--help') && !process.argv.includes('-h') ? [verb] : Object.keys(VERBS);
for (const register of await Promise.all(wanted.map((v) => VERBS[v]!()))) register(program);

await program.parseAsync(process.argv);

/** `weft exec WORKLOAD -- COMMAND...`: run a command as that workload, its HTTP going through its sidecar. */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { WeftError } from '../errors.js';
import type { MeshFile } from '../mesh/mesh-file.js';
import { stateDirLayout } from '../mesh/state-dir.js';
import { findIpCommand } from '../mesh/netns/ip-command.js';
import { explicitProxyEnv } from '../mesh/explicit-proxy-env.js';
import { processOutput, runVerb } from './verb-failure.js';
import { namespaceName } from './flag-values.js';

export function registerExecCommand(program: Command): void {
  program
    .command('exec')
    .description("run a command as a workload: in its pod's network namespace, captured by its sidecar (netns), or with http_proxy pointing at its sidecar (loopback)")
    .argument('<workload>', 'workload name, or namespace/name')
    .argument('<command...>', 'the command and its arguments (after --)')
    .option('-n, --namespace <ns>', 'namespace of the workload', namespaceName)
    .action(async (workload: string, command: string[], opts: { namespace?: string }, cmd: Command) =>
      runVerb(processOutput, async () => {
        const { stateDir } = cmd.optsWithGlobals<{ stateDir: string }>();
        const layout = stateDirLayout(stateDir);
        const mesh = JSON.parse(await readFile(layout.meshFile, 'utf8').catch(() => {
          throw new WeftError('MESH_NOT_RUNNING', `no mesh is running in ${layout.root} (start one with: weft up PATH)`);
        })) as MeshFile;
        const [ns, name] = workload.includes('/') ? (workload.split('/', 2) as [string, string]) : [opts.namespace, workload];
        const w = mesh.workloads.find((x) => x.name === name && (ns === undefined || x.namespace === ns));
        if (!w) throw new WeftError('NOT_FOUND', `workload "${workload}" is not running in this mesh`);
        const [program_, ...args] = command as [string, ...string[]];
        // In a pod with its own network namespace the command runs there too, so it sees what the app sees.
        const argv = w.netns === undefined ? [program_, ...args] : [findIpCommand() ?? 'ip', 'netns', 'exec', w.netns, program_, ...args];
        const child = spawn(argv[0]!, argv.slice(1), {
          stdio: 'inherit',
          // In a pod the command's traffic is captured like the app's; on loopback it is pointed at the sidecar.
          env: { ...process.env, ...(w.netns === undefined ? explicitProxyEnv(`http://${w.outbound}`) : {}), POD_IP: w.podIP },
        });
        const code = await new Promise<number>((resolve) => {
          child.once('error', (err) => {
            process.stderr.write(`error: cannot run ${program_}: ${err.message}\n`);
            resolve(127);
          });
          child.once('exit', (c, signal) => resolve(c ?? (signal ? 128 : 1)));
        });
        process.exitCode = code;
      }),
    );
}

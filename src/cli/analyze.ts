/**
 * `weft analyze [-f PATH...] [-n NS | -A] [-o json]`: finds misconfigurations with stable codes (Istio's IST…,
 * Kiali's KIA…, weft's WEFT01…). With -f it reads files offline (for CI); without, the running mesh's resources.
 * Exit status 1 when any finding is an error.
 */
import { Option } from 'commander';
import type { Command } from 'commander';
import { loadResourcesLeniently } from '../config/load.js';
import { analyzeResources, formatFinding, schemaFindings } from '../analyze/index.js';
import type { AnalyzedResource, Finding } from '../analyze/index.js';
import { ControlClient } from './client.js';
import { processOutput, runVerb } from './verb-failure.js';
import type { CliOutput } from './verb-failure.js';
import { collectExistingPaths, namespaceName } from './flag-values.js';

interface AnalyzeFlags {
  filename: string[];
  namespace: string;
  allNamespaces?: boolean;
  output: 'text' | 'json';
}

async function liveResources(stateDir: string): Promise<AnalyzedResource[]> {
  const client = await ControlClient.fromStateDir(stateDir);
  try {
    return (await client.list()).map((resource) => ({ resource }));
  } finally {
    await client.close();
  }
}

/** Files: every finding of every object read. The live mesh: one namespace's findings unless -A. */
export async function runAnalyze(flags: AnalyzeFlags, stateDir: string): Promise<Finding[]> {
  if (flags.filename.length > 0) {
    const loaded = await loadResourcesLeniently(flags.filename, { stdin: process.stdin });
    return [...schemaFindings(loaded.issues), ...analyzeResources(loaded.resources)];
  }
  const findings = analyzeResources(await liveResources(stateDir));
  return flags.allNamespaces === true ? findings : findings.filter((f) => f.object?.namespace === flags.namespace);
}

export function formatFindings(findings: readonly Finding[], output: 'text' | 'json'): string {
  if (output === 'json') return `${JSON.stringify({ findings }, null, 2)}\n`;
  if (findings.length === 0) return '✔ No validation issues found.\n';
  const count = (s: Finding['severity']): number => findings.filter((f) => f.severity === s).length;
  return `${findings.map(formatFinding).join('\n')}\n${count('error')} error(s), ${count('warning')} warning(s), ${count('info')} info\n`;
}

export function registerAnalyzeCommand(program: Command, io: CliOutput = processOutput): void {
  program
    .command('analyze')
    .description('find misconfigurations in files (-f, offline) or in the running mesh; exit 1 on any error')
    .option('-f, --filename <path>', 'file, directory or - for stdin; repeatable (default: the running mesh)', collectExistingPaths, [])
    .option('-n, --namespace <namespace>', 'namespace to report on (running mesh)', namespaceName, 'default')
    .option('-A, --all-namespaces', 'report on every namespace (running mesh)')
    .addOption(new Option('-o, --output <format>', 'text or json').choices(['text', 'json']).default('text'))
    .action(async (flags: AnalyzeFlags, cmd: Command) =>
      runVerb(io, async () => {
        const { stateDir } = cmd.optsWithGlobals<{ stateDir: string }>();
        const findings = await runAnalyze(flags, stateDir);
        io.out(formatFindings(findings, flags.output));
        if (findings.some((f) => f.severity === 'error')) process.exitCode = 1;
      }),
    );
}

/**
 * `weft apply -f PATH [-f PATH...] [--force]`: load every file, directory and `-` (stdin), refuse the whole set if
 * any document is invalid, then apply it in one transaction (admission may refuse it; --force overrides, audited)
 * and print kubectl's result lines, then admission's warnings on stderr.
 */
import type { Command } from 'commander';
import { formatFinding } from '../analyze/index.js';
import { loadResources } from '../config/load.js';
import type { AppliedItem } from '../control/api/handler.js';
import { typeName } from '../control/api/resource-names.js';
import { WeftError } from '../errors.js';
import { ControlClient } from './client.js';
import { processOutput, runVerb } from './verb-failure.js';
import type { CliOutput } from './verb-failure.js';
import { collectExistingPaths } from './flag-values.js';

/** `virtualservice.networking.istio.io/bookinfo created`, `service/details unchanged`. */
export function formatApplied(item: AppliedItem): string {
  return `${typeName(item.kind, item.apiVersion)}/${item.name} ${item.result}`;
}

export function registerApplyCommand(program: Command, io: CliOutput = processOutput): void {
  program
    .command('apply')
    .description('create or update resources from files, directories or stdin (all or nothing)')
    .option('-f, --filename <path>', 'file, directory or - for stdin; repeatable', collectExistingPaths, [])
    .option('--force', 'apply even what admission refuses as an error (the override is audited)')
    .action(async (opts: { filename: string[]; force?: boolean }, cmd: Command) =>
      runVerb(io, async () => {
        if (opts.filename.length === 0) {
          throw new WeftError('BAD_REQUEST', 'must specify one of -f and -k (only -f is supported)');
        }
        const loaded = await loadResources(opts.filename, { stdin: process.stdin });
        if (loaded.length === 0) throw new WeftError('BAD_REQUEST', 'no objects passed to apply');
        const client = await ControlClient.fromStateDir(String(cmd.optsWithGlobals()['stateDir'] ?? '.weft'), cmd.optsWithGlobals());
        try {
          const report = await client.applyWithReport(loaded.map((l) => l.resource), { force: opts.force === true });
          io.out(report.results.map((r) => `${formatApplied(r)}\n`).join(''));
          // kubectl prints an admission warning as `Warning: ...` on stderr.
          for (const f of [...report.forced, ...report.warnings]) io.err(`Warning: ${formatFinding(f)}\n`);
        } finally {
          await client.close();
        }
      }),
    );
}

/**
 * `weft delete -f PATH` and `weft delete KIND NAME... [-n NS]`: delete all the named resources in one
 * transaction (if one is missing, none is deleted) and print kubectl's result lines.
 */
import type { Command } from 'commander';
import { loadResources } from '../config/load.js';
import type { ResourceKey } from '../config/resource.js';
import { typeName } from '../control/api/resource-names.js';
import { WeftError } from '../errors.js';
import { collectExistingPaths, namespaceName } from './flag-values.js';
import type { DeletedItem } from './client.js';
import type { CliOutput } from './verb-failure.js';
import { ControlClient } from './client.js';
import { processOutput, runVerb } from './verb-failure.js';
import { resolveKind } from './get.js';

/** `virtualservice.networking.istio.io "bookinfo" deleted` */
export function formatDeleted(item: DeletedItem): string {
  return `${typeName(item.kind, item.apiVersion)} "${item.name}" deleted`;
}

/** The keys named on the command line: KIND NAME... in one namespace (or none, for a cluster-scoped kind). */
export function keysFromArgs(kindName: string, names: string[], namespace: string): ResourceKey[] {
  const info = resolveKind(kindName);
  if (names.length === 0) {
    throw new WeftError('BAD_REQUEST', `resource(s) were provided, but no name was specified`);
  }
  return names.map((name) => ({ kind: info.kind, namespace: info.namespaced ? namespace : '', name }));
}

interface DeleteOptions {
  filename: string[];
  namespace: string;
}

export function registerDeleteCommand(program: Command, io: CliOutput = processOutput): void {
  program
    .command('delete')
    .description('delete resources named by files or by kind and name (all or nothing)')
    .argument('[kind]', 'resource kind: Kind, plural or short name')
    .argument('[names...]', 'names of the resources to delete')
    .option('-f, --filename <path>', 'file, directory or - for stdin; repeatable', collectExistingPaths, [])
    .option('-n, --namespace <namespace>', 'namespace', namespaceName, 'default')
    .action(async (kindName: string | undefined, names: string[], opts: DeleteOptions, cmd: Command) =>
      runVerb(io, async () => {
        let keys: ResourceKey[];
        if (opts.filename.length > 0) {
          if (kindName !== undefined) {
            throw new WeftError('BAD_REQUEST', 'cannot name resources both with -f and as arguments');
          }
          const loaded = await loadResources(opts.filename, { stdin: process.stdin });
          keys = loaded.map(({ resource: r }) => ({ kind: r.kind, namespace: r.metadata.namespace, name: r.metadata.name }));
        } else if (kindName !== undefined) {
          keys = keysFromArgs(kindName, names, opts.namespace);
        } else {
          throw new WeftError('BAD_REQUEST', 'you must provide one or more resources by argument or filename');
        }
        if (keys.length === 0) throw new WeftError('BAD_REQUEST', 'no objects passed to delete');
        const client = await ControlClient.fromStateDir(String(cmd.optsWithGlobals()['stateDir'] ?? '.weft'), cmd.optsWithGlobals());
        try {
          const deleted = await client.delete(keys);
          io.out(deleted.map((d) => `${formatDeleted(d)}\n`).join(''));
        } finally {
          await client.close();
        }
      }),
    );
}

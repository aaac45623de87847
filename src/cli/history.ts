/**
 * `weft history KIND NAME`, `weft diff KIND NAME REV1 [REV2]` and `weft rollback KIND NAME --to REV`: an object's
 * kept revisions with who made each and when, the difference between two of them (RFC 6902 paths, the old and
 * the new value), and putting one back, which the control plane audits as the caller's own change.
 */
import { Option } from 'commander';
import type { Command } from 'commander';
import type { ResourceKey } from '../config/resource.js';
import { typeName } from '../control/api/resource-names.js';
import { jsonDiff } from '../control/store/json-diff.js';
import type { JsonPatchOp } from '../control/store/json-diff.js';
import type { StoredResource } from '../control/store/types.js';
import { WeftError, isWeftError } from '../errors.js';
import { ControlClient } from './client.js';
import { processOutput, runVerb } from './verb-failure.js';
import type { RevisionSummary } from './client.js';
import type { CliOutput } from './verb-failure.js';
import { namespaceName } from './flag-values.js';
import { resolveKind } from './get.js';
import { formatTable } from './text-table.js';

function keyOf(kindName: string, name: string, namespace: string): ResourceKey {
  const info = resolveKind(kindName);
  return { kind: info.kind, namespace: info.namespaced ? namespace : '', name };
}

const stateDirOf = (cmd: Command): string => String(cmd.optsWithGlobals()['stateDir'] ?? '.weft');

async function withClient<T>(cmd: Command, body: (client: ControlClient) => Promise<T>): Promise<T> {
  const client = await ControlClient.fromStateDir(stateDirOf(cmd), cmd.optsWithGlobals());
  try {
    return await body(client);
  } finally {
    await client.close();
  }
}

export function formatHistory(revisions: RevisionSummary[]): string {
  return formatTable(
    ['REVISION', 'TIME', 'ACTOR', 'CREDENTIAL', 'VERB', 'SHA256'],
    revisions.map((r) => [String(r.revision), r.time, r.actor.name, r.actor.credentialId ?? '-', r.verb, r.contentSha256 ?? '-']),
  );
}

function valueAt(doc: unknown, pointer: string): unknown {
  let v = doc;
  for (const token of pointer.split('/').slice(1)) {
    const key = token.replaceAll('~1', '/').replaceAll('~0', '~');
    v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined;
  }
  return v;
}

/** The revision number moves with every change; showing it would only restate the two revisions compared. */
const IGNORED_PATHS = new Set(['/metadata/resourceVersion']);

export function diffOps(before: StoredResource | undefined, after: StoredResource | undefined): JsonPatchOp[] {
  return jsonDiff(before ?? {}, after ?? {}).filter((op) => !IGNORED_PATHS.has(op.path));
}

export function formatDiff(before: StoredResource | undefined, ops: JsonPatchOp[]): string {
  const show = (v: unknown): string => JSON.stringify(v);
  return ops
    .map((op) => {
      switch (op.op) {
        case 'add':
          return `+ ${op.path || '/'}: ${show(op.value)}\n`;
        case 'remove':
          return `- ${op.path}: ${show(valueAt(before, op.path))}\n`;
        case 'replace':
          return `~ ${op.path || '/'}: ${show(valueAt(before, op.path))} -> ${show(op.value)}\n`;
      }
    })
    .join('');
}

/** The object at `at` (a revision or a time), or undefined if it did not exist then. */
async function objectAt(client: ControlClient, key: ResourceKey, at: string | undefined): Promise<StoredResource | undefined> {
  try {
    return await client.get(key, at);
  } catch (err) {
    if (isWeftError(err, 'NOT_FOUND')) return undefined;
    throw err;
  }
}

export function registerHistoryCommand(program: Command, io: CliOutput = processOutput): void {
  program
    .command('history')
    .description("list an object's revisions: who changed it, when, and how")
    .argument('<kind>', 'resource kind: Kind, plural or short name')
    .argument('<name>', 'resource name')
    .option('-n, --namespace <namespace>', 'namespace', namespaceName, 'default')
    .action(async (kindName: string, name: string, opts: { namespace: string }, cmd: Command) =>
      runVerb(io, () => withClient(cmd, async (client) => io.out(formatHistory(await client.history(keyOf(kindName, name, opts.namespace)))))),
    );
}

export function registerDiffCommand(program: Command, io: CliOutput = processOutput): void {
  program
    .command('diff')
    .description('show how an object differs between two revisions (or a revision and now)')
    .argument('<kind>', 'resource kind: Kind, plural or short name')
    .argument('<name>', 'resource name')
    .argument('<rev1>', 'the earlier revision or RFC 3339 time')
    .argument('[rev2]', 'the later revision or time (default: now)')
    .option('-n, --namespace <namespace>', 'namespace', namespaceName, 'default')
    .addOption(new Option('-o, --output <format>', 'json: the RFC 6902 patch from rev1 to rev2').choices(['json']))
    .action(async (kindName: string, name: string, rev1: string, rev2: string | undefined, opts: { namespace: string; output?: string }, cmd: Command) =>
      runVerb(io, () =>
        withClient(cmd, async (client) => {
          const key = keyOf(kindName, name, opts.namespace);
          const [before, after] = await Promise.all([objectAt(client, key, rev1), objectAt(client, key, rev2)]);
          if (before === undefined && after === undefined) {
            throw new WeftError('NOT_FOUND', `${key.kind} "${name}" existed at neither ${rev1} nor ${rev2 ?? 'now'}`);
          }
          const ops = diffOps(before, after);
          io.out(opts.output === 'json' ? `${JSON.stringify(ops, null, 2)}\n` : formatDiff(before, ops));
        }),
      ),
    );
}

export function registerRollbackCommand(program: Command, io: CliOutput = processOutput): void {
  program
    .command('rollback')
    .description('put an object back as it was at a revision (an ordinary, audited change)')
    .argument('<kind>', 'resource kind: Kind, plural or short name')
    .argument('<name>', 'resource name')
    .requiredOption('--to <revision>', 'the revision (or RFC 3339 time) to go back to')
    .option('-n, --namespace <namespace>', 'namespace', namespaceName, 'default')
    .action(async (kindName: string, name: string, opts: { to: string; namespace: string }, cmd: Command) =>
      runVerb(io, () =>
        withClient(cmd, async (client) => {
          const key = keyOf(kindName, name, opts.namespace);
          const done = await client.rollback(key, opts.to);
          const apiVersion = resolveKind(kindName).apiVersion;
          io.out(`${typeName(key.kind, apiVersion)}/${name} rolled back to revision ${done.revision} (${done.result})\n`);
        }),
      ),
    );
}

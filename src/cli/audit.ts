/**
 * `weft audit log|export|verify`: read the audit chain, export it as JSON lines (one entry a line, as stored, for a
 * SIEM), and verify it from such a file or from the live store. Verification runs here, not in the control
 * plane: the entries are checked against their own hashes and against heads signed by the mesh's audit key, so a
 * control plane (or a database) that was tampered with cannot vouch for itself.
 */
import fs from 'node:fs';
import { Option } from 'commander';
import type { Command } from 'commander';
import { auditVerifierKey } from '../identity/audit-key.js';
import { headSignatureChecker, readHeadFile } from '../control/audit-head.js';
import { verifyChain } from '../control/store/audit-chain.js';
import type { AuditEntry, ChainReport, SignedHead } from '../control/store/audit-chain.js';
import type { EnforcedConfig } from '../control/enforced-config.js';
import { MAX_AUDIT_PAGE } from '../control/store/types.js';
import { stateDirLayout } from '../mesh/state-dir.js';
import { WeftError } from '../errors.js';
import { ControlClient } from './client.js';
import { processOutput, runVerb } from './verb-failure.js';
import type { AuditLogQuery } from './client.js';
import type { CliOutput } from './verb-failure.js';
import { existingFile } from './flag-values.js';
import { formatTable } from './text-table.js';

/** Every entry from `afterSeq` on, a page at a time. */
async function* allEntries(client: ControlClient, query: AuditLogQuery): AsyncGenerator<AuditEntry> {
  let afterSeq = 0;
  for (;;) {
    const page = await client.auditLog({ ...query, afterSeq, limit: MAX_AUDIT_PAGE });
    yield* page;
    const last = page.at(-1)?.seq;
    // A page that does not move forward (entries renumbered by hand) ends the walk rather than looping.
    if (page.length < MAX_AUDIT_PAGE || typeof last !== 'number' || last <= afterSeq) return;
    afterSeq = last;
  }
}

function describeEntry(e: AuditEntry): [string, string] {
  switch (e.type) {
    case 'change':
      return [
        e.actor.credentialId === undefined ? e.actor.name : `${e.actor.name} (${e.actor.credentialId})`,
        `${e.verb} ${e.key.kind} ${e.key.namespace === '' ? '' : `${e.key.namespace}/`}${e.key.name} revision ${e.revision}`,
      ];
    case 'refusal':
      return [e.actor?.name ?? '-', `${e.method} ${e.path} refused ${e.status} ${e.code}: ${e.reason}`];
    case 'push':
      return [
        e.proxy,
        `${e.outcome} config ${e.configVersion} sha256 ${e.configSha256 ?? 'unknown'}${e.reason === undefined ? '' : `: ${e.reason}`}`,
      ];
    case 'settings':
      return ['-', `compile settings ${e.sha256.slice(0, 16)}: trust domain ${e.bootstrap.trustDomain}, ${Object.keys(e.jwks).length} JWKS document(s)`];
    case 'head':
      return ['-', `signed head of entry ${e.signed.seq} with key ${e.signed.keyId}`];
  }
}

export function formatAuditLog(entries: AuditEntry[]): string {
  return formatTable(
    ['SEQ', 'TIME', 'TYPE', 'WHO', 'WHAT'],
    entries.map((e) => [String(e.seq), e.time, e.type, ...describeEntry(e)]),
  );
}

/** A JSON-lines file as entries; a line that is not an object is an edited entry at that line. */
export function parseJsonLines(text: string): { entries: AuditEntry[]; badLine?: number } {
  const entries: AuditEntry[] = [];
  const lines = text.split('\n');
  for (const [i, line] of lines.entries()) {
    if (line.trim() === '') continue;
    try {
      const parsed = JSON.parse(line) as unknown;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { entries, badLine: i + 1 };
      entries.push(parsed as AuditEntry);
    } catch {
      return { entries, badLine: i + 1 };
    }
  }
  return { entries };
}

export function formatEnforced(e: EnforcedConfig): string {
  const head = `${e.proxy} ACKed config ${e.ack.configVersion} at ${e.ack.time} (entry ${e.ack.seq}), sent at ${e.sent.time} from revision ${e.sent.revision}\n`;
  return e.reproduced
    ? `${head}reproduced: hash matches (sha256 ${e.reproducedSha256})\n`
    : `${head}NOT reproduced: hash mismatch: the chain recorded sha256 ${e.ack.configSha256}, compiling from history gives ${e.reproducedSha256}\n`;
}

export function formatReport(report: ChainReport): string {
  if (report.problem !== null) {
    const p = report.problem;
    return `audit chain NOT valid: ${p.kind} at entry ${p.seq} (record ${p.position}): ${p.message}\n`;
  }
  const head = report.signedHead === null ? 'no signed head found' : `signed head covers entry ${report.signedHead.seq} (signed ${report.signedHead.signedAt})`;
  return `audit chain valid: ${report.entries} entries, last entry ${report.lastSeq} (${report.lastHash}), ${head}\n`;
}

interface VerifyOptions {
  file?: string;
  head?: string;
  publicKey?: string;
  output?: string;
}

export function registerAuditCommand(program: Command, io: CliOutput = processOutput): void {
  const audit = program.command('audit').description('read, export and verify the audit chain');
  const stateDirOf = (cmd: Command): string => String(cmd.optsWithGlobals()['stateDir'] ?? '.weft');

  audit
    .command('log')
    .description('list audit entries: changes, refused calls, config pushes and ACK/NACK, signed heads')
    .option('--since <time|revision>', 'only entries after this revision, or at or after this RFC 3339 time')
    .option('--kind <kind>', 'only this entry type (change, refusal, push, head) or changes of this resource kind')
    .addOption(new Option('-o, --output <format>', 'json for machine-readable output').choices(['json']))
    .action(async (opts: { since?: string; kind?: string; output?: string }, cmd: Command) =>
      runVerb(io, async () => {
        const client = await ControlClient.fromStateDir(stateDirOf(cmd), cmd.optsWithGlobals());
        try {
          const entries: AuditEntry[] = [];
          for await (const e of allEntries(client, { since: opts.since, kind: opts.kind })) entries.push(e);
          io.out(opts.output === 'json' ? `${JSON.stringify(entries, null, 2)}\n` : formatAuditLog(entries));
        } finally {
          await client.close();
        }
      }),
    );

  audit
    .command('enforced')
    .description('the config a proxy had ACKed at a time or revision, compiled again from history and checked against the hash the chain recorded')
    .argument('<proxy>', 'role/namespace/name, as weft status names it (e.g. sidecar/default/httpbin)')
    .requiredOption('--at <time|revision>', 'an RFC 3339 time or a revision')
    .addOption(new Option('-o, --output <format>', 'json: the whole answer, config included').choices(['json']))
    .action(async (proxy: string, opts: { at: string; output?: string }, cmd: Command) =>
      runVerb(io, async () => {
        const client = await ControlClient.fromStateDir(stateDirOf(cmd), cmd.optsWithGlobals());
        try {
          const answer = await client.enforced(proxy, opts.at);
          io.out(opts.output === 'json' ? `${JSON.stringify(answer, null, 2)}\n` : formatEnforced(answer));
          if (!answer.reproduced) process.exitCode = 1;
        } finally {
          await client.close();
        }
      }),
    );

  audit
    .command('export')
    .description('print the whole chain as JSON lines, one entry a line, as stored')
    .action(async (_opts: unknown, cmd: Command) =>
      runVerb(io, async () => {
        const client = await ControlClient.fromStateDir(stateDirOf(cmd), cmd.optsWithGlobals());
        try {
          for await (const e of allEntries(client, {})) io.out(`${JSON.stringify(e)}\n`);
        } finally {
          await client.close();
        }
      }),
    );

  audit
    .command('verify')
    .description('check the chain (exported file or live store) and the newest signed head; names the first bad entry')
    .option('--file <file>', 'a JSON-lines export instead of the live store', existingFile)
    .option('--head <file>', 'a signed head kept outside the store (default for the live store: the state directory\'s)', existingFile)
    .option('--public-key <file>', 'the audit public key (default: the state directory\'s)', existingFile)
    .addOption(new Option('-o, --output <format>', 'json for machine-readable output').choices(['json']))
    .action(async (opts: VerifyOptions, cmd: Command) =>
      runVerb(io, async () => {
        const layout = stateDirLayout(stateDirOf(cmd));
        const keyFile = opts.publicKey ?? layout.auditPublicKeyFile;
        let keyPem: string;
        try {
          keyPem = fs.readFileSync(keyFile, 'utf8');
        } catch (err) {
          throw new WeftError('AUDIT_INVALID', `cannot read the audit public key ${keyFile}: ${(err as Error).message}`);
        }
        const checkSignature = headSignatureChecker(auditVerifierKey(keyPem));
        // An export is checked against a head only when one is named: a newer head would call an older export cut short.
        const headFile = opts.head ?? (opts.file === undefined ? layout.auditHeadFile : undefined);
        const externalHead: SignedHead | undefined = headFile === undefined ? undefined : readHeadFile(headFile);
        let entries: AuditEntry[];
        let badLine: number | undefined;
        if (opts.file !== undefined) {
          ({ entries, badLine } = parseJsonLines(fs.readFileSync(opts.file, 'utf8')));
        } else {
          const client = await ControlClient.fromStateDir(stateDirOf(cmd), cmd.optsWithGlobals());
          try {
            entries = [];
            for await (const e of allEntries(client, {})) entries.push(e);
          } finally {
            await client.close();
          }
        }
        let report = verifyChain(entries, { checkSignature, externalHeads: externalHead === undefined ? [] : [externalHead] });
        if (badLine !== undefined && (report.problem === null || report.problem.position > entries.length)) {
          const seq = report.lastSeq + 1;
          report = { ...report, ok: false, problem: { kind: 'edited', seq, position: badLine, message: `line ${badLine} is not a JSON object` } };
        }
        io.out(opts.output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
        if (!report.ok) process.exitCode = 1;
      }),
    );
}

/**
 * Loads resources from YAML/JSON files, directories and stdin, all-or-nothing: every problem in every file is
 * collected and reported in one error, each at file:line:column and field path, and nothing is returned unless
 * everything is valid. Hostile input is bounded: file size, YAML alias expansion and nesting depth.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { LineCounter } from 'yaml';
import type { WeftErrorCode } from '../errors.js';
import { configError } from './issues.js';
import type { ConfigIssue } from './issues.js';
import type { Resource, SourcePosition } from './resource.js';
import { resourceKeyString } from './resource.js';
import { ExpansionBudget, MAX_EXPANDED_VALUES, MAX_NESTING_DEPTH, parseBoundedYaml } from './bounded-yaml.js';
import { documentPosition, locateField } from './source-map.js';
import { checkDocument, positionProblems } from './validate.js';

export interface LoadedResource {
  resource: Resource;
  source: SourcePosition;
  /** Where a field of this document is written, so a later check (the analyzer) can name its line. */
  locate?: (path: readonly (string | number)[]) => SourcePosition;
}

/** A lenient load's answer: the valid documents, and every problem of the others. */
export interface LoadReport {
  resources: LoadedResource[];
  issues: ConfigIssue[];
}

export interface LoadOptions {
  stdin?: NodeJS.ReadableStream;
}

export const MAX_FILE_BYTES = 4 * 1024 * 1024;
export { MAX_EXPANDED_VALUES, MAX_NESTING_DEPTH };
// Each alias may expand to a whole subtree; the yaml package bounds expansions relative to this count.
export const MAX_ALIAS_COUNT = 100;
export const STDIN_NAME = '<stdin>';

const CONFIG_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

type Severity = 'read' | 'parse' | 'unknown-kind' | 'invalid';
const SEVERITY_CODE: Record<Severity, WeftErrorCode> = {
  read: 'CONFIG_READ',
  parse: 'CONFIG_PARSE',
  'unknown-kind': 'CONFIG_UNKNOWN_KIND',
  invalid: 'CONFIG_INVALID',
};

/** What one load has gathered so far; errors of every file are kept so one report lists them all. */
class LoadState {
  readonly resources: LoadedResource[] = [];
  readonly issues: ConfigIssue[] = [];
  private readonly severities = new Set<Severity>();
  private readonly seen = new Map<string, SourcePosition>();

  report(severity: Severity, issues: ConfigIssue[]): void {
    this.severities.add(severity);
    this.issues.push(...issues);
  }

  /** Returns where the same kind/namespace/name was first defined, or records this one as the first. */
  claim(resource: Resource, at: SourcePosition): SourcePosition | undefined {
    const key = resourceKeyString({ kind: resource.kind, namespace: resource.metadata.namespace, name: resource.metadata.name });
    const first = this.seen.get(key);
    if (first === undefined) this.seen.set(key, at);
    return first;
  }

  collected(): LoadReport {
    return { resources: this.resources, issues: this.issues };
  }

  finish(): LoadedResource[] {
    if (this.issues.length === 0) return this.resources;
    // The most fundamental failure names the error: a file that cannot be read hides everything after it.
    const order: Severity[] = ['read', 'parse', 'invalid', 'unknown-kind'];
    const worst = order.find((s) => this.severities.has(s)) ?? 'invalid';
    throw configError(SEVERITY_CODE[worst], this.issues);
  }
}

function parseInto(text: string, file: string, state: LoadState): void {
  const lines = new LineCounter();
  const parsed = parseBoundedYaml(text, lines, { prettyErrors: false, uniqueKeys: true });
  if (!parsed.ok) {
    const { line, col } = lines.linePos(parsed.offset);
    state.report('parse', [{ file, line, column: col, field: '', message: `nesting deeper than ${MAX_NESTING_DEPTH} levels (the limit)` }]);
    return;
  }
  const budget = new ExpansionBudget();
  for (const doc of parsed.docs) {
    if (doc.errors.length > 0) {
      state.report('parse', doc.errors.map((e) => {
        const { line, col } = lines.linePos(e.pos[0]);
        return { file, line, column: col, field: '', message: `YAML syntax error: ${e.message.split('\n')[0] ?? e.message}` };
      }));
      continue;
    }
    // Empty documents (`---` separators, comment-only files) are not resources.
    if (doc.contents === null) continue;
    const start = documentPosition(doc, lines);
    const origin: SourcePosition = { file, line: start.line, column: start.column };
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (err) {
      state.report('parse', [{ ...origin, field: '', message: `cannot expand document: ${(err as Error).message}` }]);
      continue;
    }
    const exceeded = budget.take(value);
    if (exceeded !== undefined) {
      const message = exceeded === 'depth'
        ? `nesting deeper than ${MAX_NESTING_DEPTH} levels (the limit) once aliases are expanded`
        : `more than ${MAX_EXPANDED_VALUES} values in the file (the limit) once aliases are expanded`;
      state.report('parse', [{ ...origin, field: '', message }]);
      return;
    }
    if (value === null || value === undefined) continue;
    const locate = (path: readonly (string | number)[], atKey: boolean) => locateField(doc, lines, path, atKey);
    const result = checkDocument(value);
    if (!result.ok) {
      state.report(result.unknownKind ? 'unknown-kind' : 'invalid', positionProblems(result.problems, origin, locate));
      continue;
    }
    const first = state.claim(result.resource, origin);
    if (first !== undefined) {
      const r = result.resource;
      const at = locate(['metadata', 'name'], false);
      state.report('invalid', [{
        file, line: at.line, column: at.column, field: 'metadata.name',
        message: `duplicate ${r.kind} ${r.metadata.namespace}/${r.metadata.name}, first defined at ${first.file}:${first.line}:${first.column}`,
      }]);
      continue;
    }
    state.resources.push({
      resource: result.resource,
      source: origin,
      locate: (path) => ({ file, ...locate(path, false) }),
    });
  }
}

/** Parses one text (a file's contents) into validated resources; throws one error listing every problem. */
export function parseResources(text: string, fileName: string): LoadedResource[] {
  const state = new LoadState();
  if (Buffer.byteLength(text) > MAX_FILE_BYTES) {
    state.report('read', [{ file: fileName, line: 0, column: 0, field: '', message: `larger than ${MAX_FILE_BYTES} bytes` }]);
  } else {
    parseInto(text, fileName, state);
  }
  return state.finish();
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
    size += buf.length;
    if (size > MAX_FILE_BYTES) throw new RangeError(`larger than ${MAX_FILE_BYTES} bytes`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The config files directly in a directory, in a stable (sorted) order. Not recursive, as `kubectl apply -f DIR`
 * is not: an example can keep optional extras (policies, requests for `weft authz check`) in subdirectories.
 */
async function configFilesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir);
  const candidates = entries.filter((e) => CONFIG_EXTENSIONS.has(extname(e).toLowerCase())).sort();
  const files: string[] = [];
  for (const rel of candidates) {
    const full = join(dir, rel);
    if ((await stat(full)).isFile()) files.push(full);
  }
  return files;
}

async function readConfigFile(path: string): Promise<string> {
  const info = await stat(path);
  if (info.size > MAX_FILE_BYTES) throw new RangeError(`larger than ${MAX_FILE_BYTES} bytes`);
  return readFile(path, 'utf8');
}

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return 'no such file or directory';
  if (e.code === 'EACCES') return 'permission denied';
  return e.message;
}

/**
 * Loads every resource named by `paths`: files, directories (their own *.yaml, *.yml, *.json files, sorted; not subdirectories) and
 * `-` for stdin. Multi-document YAML is split; empty documents are skipped. All-or-nothing.
 */
export async function loadResources(paths: string[], opts: LoadOptions = {}): Promise<LoadedResource[]> {
  const state = new LoadState();
  await loadInto(paths, opts, state);
  return state.finish();
}

/**
 * Loads like loadResources but keeps going: the valid documents are returned beside the problems of the others,
 * so `weft analyze` can report a schema error and still check everything else.
 */
export async function loadResourcesLeniently(paths: string[], opts: LoadOptions = {}): Promise<LoadReport> {
  const state = new LoadState();
  await loadInto(paths, opts, state);
  return state.collected();
}

async function loadInto(paths: string[], opts: LoadOptions, state: LoadState): Promise<void> {
  for (const path of paths) {
    if (path === '-') {
      try {
        if (opts.stdin === undefined) throw new Error('no standard input available');
        parseInto(await readStream(opts.stdin), STDIN_NAME, state);
      } catch (err) {
        state.report('read', [{ file: STDIN_NAME, line: 0, column: 0, field: '', message: `cannot read: ${reason(err)}` }]);
      }
      continue;
    }
    let files: string[];
    try {
      files = (await stat(path)).isDirectory() ? await configFilesUnder(path) : [path];
    } catch (err) {
      state.report('read', [{ file: path, line: 0, column: 0, field: '', message: `cannot read: ${reason(err)}` }]);
      continue;
    }
    for (const file of files) {
      let text: string;
      try {
        text = await readConfigFile(file);
      } catch (err) {
        state.report('read', [{ file, line: 0, column: 0, field: '', message: `cannot read: ${reason(err)}` }]);
        continue;
      }
      parseInto(text, file, state);
    }
  }
}

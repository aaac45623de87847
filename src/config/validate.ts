/**
 * One document in, one normalised Resource out: apiVersion and kind against the registry, metadata by
 * Kubernetes' rules, the spec by its strict schema (defaults applied) and then by the kind's semantic checks.
 */
import type { z } from 'zod';
import { findKind, knownKindsList, normalizeApiVersion } from './kinds/index.js';
import type { KindInfo } from './kinds/index.js';
import { configError, formatFieldPath } from './issues.js';
import type { ConfigIssue, FieldPath } from './issues.js';
import { checkMetadata } from './metadata.js';
import type { FieldProblem } from './metadata.js';
import type { Resource, SourcePosition } from './resource.js';

export type { FieldProblem } from './metadata.js';

/** Maps a field path to where it is written; `atKey` asks for the key rather than its value. */
export type FieldLocator = (path: FieldPath, atKey: boolean) => { line: number; column: number };

export type DocumentCheck =
  | { ok: true; resource: Resource; kind: KindInfo }
  | { ok: false; problems: FieldProblem[]; unknownKind: boolean };

// Written by the API server or the runtime; accepted so `get -o yaml` output reloads, never read back.
const TOP_LEVEL = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks a parsed document without throwing, so a loader can collect problems across many documents. */
export function checkDocument(doc: unknown): DocumentCheck {
  const problems: FieldProblem[] = [];
  if (!isPlainObject(doc)) {
    return { ok: false, problems: [{ path: [], message: 'a resource must be a mapping with apiVersion, kind, metadata and spec' }], unknownKind: false };
  }
  const { apiVersion, kind: kindName } = doc;
  const known = typeof apiVersion === 'string' && typeof kindName === 'string' ? findKind(apiVersion, kindName) : undefined;
  // A kind written without `spec` also takes its internal form (`spec` holding those fields, as the CLI sends a
  // loaded resource), but never both at once.
  const internalForm = known?.topLevelSpec !== undefined && isPlainObject(doc['spec']) && !known.topLevelSpec.some((f) => f in doc);
  const topLevel = known?.topLevelSpec === undefined || internalForm ? TOP_LEVEL : new Set([...TOP_LEVEL, ...known.topLevelSpec].filter((k) => k !== 'spec'));
  for (const key of Object.keys(doc)) {
    if (!topLevel.has(key)) problems.push({ path: [key], message: 'unknown field', atKey: true });
  }
  if (typeof apiVersion !== 'string' || apiVersion === '') problems.push({ path: apiVersion === undefined ? [] : ['apiVersion'], message: 'apiVersion is required' });
  if (typeof kindName !== 'string' || kindName === '') problems.push({ path: kindName === undefined ? [] : ['kind'], message: 'kind is required' });
  if (typeof apiVersion !== 'string' || apiVersion === '' || typeof kindName !== 'string' || kindName === '') {
    return { ok: false, problems, unknownKind: false };
  }
  const kind = findKind(apiVersion, kindName);
  if (kind === undefined) {
    problems.push({ path: ['kind'], message: `unknown kind ${apiVersion} ${kindName}; known kinds: ${knownKindsList()}` });
    return { ok: false, problems, unknownKind: true };
  }
  const metadata = checkMetadata(doc['metadata'], kind.nameRule, kind.namespaced, problems);
  const spec = kind.topLevelSpec === undefined || internalForm
    ? checkSpec(kind, doc['spec'], problems, ['spec'])
    : checkSpec(kind, topLevelSpec(doc, kind.topLevelSpec), problems, []);
  if (problems.length > 0 || metadata === undefined) return { ok: false, problems, unknownKind: false };
  return { ok: true, kind, resource: { apiVersion: normalizeApiVersion(apiVersion), kind: kind.kind, metadata, spec } };
}

/** A kind written without `spec` (a Secret's `type` and `data`): its top-level fields are its spec. */
function topLevelSpec(doc: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(fields.filter((f) => doc[f] !== undefined).map((f) => [f, doc[f]]));
}

/** `prefix` is where the spec's fields are written: under `spec`, or at the top for kinds without one. */
function checkSpec(kind: KindInfo, raw: unknown, problems: FieldProblem[], prefix: readonly string[]): unknown {
  // A missing spec is an empty one, so required fields are reported by name rather than as "spec missing".
  const parsed = kind.specSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(...fromZodIssue(issue, prefix));
    return undefined;
  }
  for (const issue of kind.validate?.(parsed.data as never) ?? []) {
    problems.push({ path: [...prefix, ...issue.path], message: issue.message });
  }
  return parsed.data;
}

function fromZodIssue(issue: z.core.$ZodIssue, prefix: readonly string[]): FieldProblem[] {
  const path = [...prefix, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({ path: [...path, key], message: 'unknown field', atKey: true }));
    case 'invalid_key':
      return [{ path, message: `invalid key: ${issue.issues[0]?.message ?? issue.message}`, atKey: true }];
    case 'invalid_type':
      // zod does not echo the input back, but names what it received.
      if (issue.message.endsWith('received undefined')) return [{ path, message: 'required field is missing' }];
      return [{ path, message: issue.message.replace(/^Invalid input: /, '') }];
    case 'invalid_union':
      return [{ path, message: unionMessage(issue) }];
    default:
      return [{ path, message: issue.message }];
  }
}

function unionMessage(issue: z.core.$ZodIssueInvalidUnion): string {
  const branches = issue.errors.map((errs) => errs[0]?.message).filter((m): m is string => m !== undefined);
  return branches.length > 0 ? `invalid value: ${[...new Set(branches)].join('; or ')}` : issue.message;
}

/** Turns field problems into positioned issues; without a locator every issue points at the document's origin. */
export function positionProblems(problems: FieldProblem[], origin: SourcePosition, locate?: FieldLocator): ConfigIssue[] {
  return problems.map((p) => {
    const at = locate?.(p.path, p.atKey === true) ?? { line: origin.line, column: origin.column };
    return { file: origin.file, line: at.line, column: at.column, field: formatFieldPath(p.path), message: p.message };
  });
}

/**
 * Validates one parsed document. Throws CONFIG_UNKNOWN_KIND for a kind weft does not know, otherwise
 * CONFIG_INVALID listing every problem as `file:line:column: field: reason`.
 */
export function validateDocument(doc: unknown, origin: SourcePosition | string, locate?: FieldLocator): Resource {
  const at = typeof origin === 'string' ? { file: origin, line: 0, column: 0 } : origin;
  const result = checkDocument(doc);
  if (result.ok) return result.resource;
  throw configError(result.unknownKind ? 'CONFIG_UNKNOWN_KIND' : 'CONFIG_INVALID', positionProblems(result.problems, at, locate));
}

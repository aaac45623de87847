/**
 * What `weft analyze` and admission report: one problem with a stable code (Istio's IST…, Kiali's KIA… where they
 * define the check, weft's WEFT01… otherwise), a severity, the object it is about, where it is written when the
 * object came from a file, and what to do about it.
 */
import type { ResourceKey, SourcePosition } from '../config/resource.js';

export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  code: string;
  severity: Severity;
  /** The object; absent for a document too broken to name one (IST0106). */
  object?: ResourceKey;
  message: string;
  /** How to fix it, in one sentence a person can act on. */
  fix: string;
  /** Dotted field path inside the object, e.g. `spec.http[0].route[0].destination.host`; '' for the whole object. */
  field: string;
  /** file:line:column of the field (or of the document) when the object was loaded from a file. */
  source?: SourcePosition;
}

/** A finding before it is placed: the field as a path, resolved to a line by the context that knows the file. */
export interface Draft {
  code: string;
  severity: Severity;
  message: string;
  fix: string;
  path: readonly (string | number)[];
}

const SEVERITY_ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** Errors first, then by object and code, so output is stable whatever order resources were given in. */
export function compareFindings(a: Finding, b: Finding): number {
  const key = (f: Finding): string => (f.object === undefined ? '' : `${f.object.kind}/${f.object.namespace}/${f.object.name}`);
  return (
    SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
    (a.source?.file ?? '').localeCompare(b.source?.file ?? '') ||
    (a.source?.line ?? 0) - (b.source?.line ?? 0) ||
    key(a).localeCompare(key(b)) ||
    a.code.localeCompare(b.code)
  );
}

/** `Error [IST0101] VirtualService shop/cart (cart.yaml:12:9) spec.gateways[0]: …\n  fix: …` */
export function formatFinding(f: Finding): string {
  const label = f.severity === 'error' ? 'Error' : f.severity === 'warning' ? 'Warning' : 'Info';
  const where = f.source === undefined ? '' : ` (${f.source.file}:${f.source.line}:${f.source.column})`;
  const field = f.field === '' ? '' : ` ${f.field}:`;
  const object = f.object === undefined ? 'document' : `${f.object.kind} ${f.object.namespace}/${f.object.name}`;
  return `${label} [${f.code}] ${object}${where}${field} ${f.message}\n  fix: ${f.fix}`;
}

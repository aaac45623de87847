/**
 * A config problem as a person reads it (`file:line:column: field.path: reason`) and as a machine reads it
 * (detail.issues), plus the one WeftError that carries a whole list of them.
 */
import { WeftError } from '../errors.js';
import type { WeftErrorCode } from '../errors.js';

export interface ConfigIssue {
  file: string;
  line: number;
  column: number;
  /** Dotted path from the document root, e.g. `spec.http[0].route[1].weight`; empty for the document itself. */
  field: string;
  message: string;
}

export type FieldPath = readonly (string | number)[];

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

export function formatFieldPath(path: FieldPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (IDENTIFIER.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

export function formatIssue(issue: ConfigIssue): string {
  const where = issue.line > 0 ? `${issue.file}:${issue.line}:${issue.column}` : issue.file;
  return issue.field === '' ? `${where}: ${issue.message}` : `${where}: ${issue.field}: ${issue.message}`;
}

// Enough to see the shape of a broken load without flooding a terminal.
const MAX_LISTED = 200;

/** One error for a whole list of problems, so a load fails all-or-nothing with every reason at once. */
export function configError(code: WeftErrorCode, issues: ConfigIssue[]): WeftError {
  const lines = issues.slice(0, MAX_LISTED).map(formatIssue);
  if (issues.length > MAX_LISTED) lines.push(`... and ${issues.length - MAX_LISTED} more`);
  const head = issues.length === 1 ? '' : `${issues.length} problems in configuration:\n`;
  return new WeftError(code, head + lines.join('\n'), { status: 400, detail: { issues } });
}

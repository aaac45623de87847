/** IST0106 SchemaValidationError: a document the loader refused, placed at the field the problem is in. */
import type { ConfigIssue } from '../config/issues.js';
import type { Finding } from './finding.js';

export function schemaFindings(issues: readonly ConfigIssue[]): Finding[] {
  return issues.map((issue) => {
    const f: Finding = {
      code: 'IST0106',
      severity: 'error',
      message: `Schema validation error: ${issue.message}`,
      fix: 'correct the field as the message says (see the kind\'s reference for its shape)',
      field: issue.field,
    };
    f.source = { file: issue.file, line: issue.line, column: issue.column };
    return f;
  });
}

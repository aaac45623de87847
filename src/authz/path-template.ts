/**
 * Istio's `{*}` / `{**}` path templates (Envoy's uri_template matcher): `{*}` is exactly one non-empty
 * path segment, `{**}` is zero or more characters that may span segments and must be the last operator.
 * Validation follows Istio's CheckValidPathTemplate; matching compiles to one anchored RegExp.
 */
const MATCH_ONE = '{*}';
const MATCH_ANY = '{**}';
// RFC 3986 pchar without '/', the literal alphabet Envoy accepts in a template segment.
const LITERAL = /^[a-zA-Z0-9\-._~%!$&'()+,;:@=]+$/;
const PCHAR = "[a-zA-Z0-9\\-._~%!$&'()+,;:@=]";

export function containsPathTemplate(path: string): boolean {
  return path.includes(MATCH_ONE) || path.includes(MATCH_ANY);
}

/** Returns a reason when the path is not a valid template (or uses braces outside one), else null. */
export function pathTemplateProblem(path: string): string | null {
  const isTemplate = containsPathTemplate(path);
  let seenAny = false;
  const segments = path.replace(/^\/+|\/+$/g, '').split('/');
  for (const seg of segments) {
    if ((seg === MATCH_ONE || seg === MATCH_ANY) && seenAny) return '{**} is not the last operator';
    if (seg === MATCH_ONE) continue;
    if (seg === MATCH_ANY) {
      seenAny = true;
      continue;
    }
    if (seg.includes('{') || seg.includes('}')) return "contains '{' or '}' beyond a supported path template";
    if (isTemplate && !LITERAL.test(seg)) return `segment "${seg}" is not a valid literal in a path template`;
  }
  return null;
}

export function compilePathTemplate(path: string): RegExp {
  let re = '';
  const parts = path.split('/');
  for (let i = 0; i < parts.length; i++) {
    const seg = parts[i]!;
    if (i > 0) re += '/';
    if (seg === MATCH_ONE) re += `${PCHAR}+`;
    else if (seg === MATCH_ANY) re += `(?:${PCHAR}|/)*`;
    else re += seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

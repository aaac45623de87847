/**
 * Every regular expression that meets client data (paths, headers, query parameters, origins) runs on re2js: RE2's
 * syntax and RE2's guarantee that matching is linear in the input, so no request can make a proxy backtrack. The
 * same checks run at apply (config validation) and when a proxy compiles its config, so what is accepted compiles.
 */
import { RE2JS } from 're2js';

/** Istio's validation refuses longer patterns (it approximates Envoy's RE2 program size limit by length). */
export const MAX_REGEX_LENGTH = 1024;

/** Why RE2 refuses `pattern`, or undefined when it compiles. */
export function re2Problem(pattern: string): string | undefined {
  if (pattern.length > MAX_REGEX_LENGTH) return `regex is too large, max length allowed is ${MAX_REGEX_LENGTH}`;
  try {
    RE2JS.compile(pattern);
    return undefined;
  } catch (err) {
    return `${(err as Error).message}; RE2 syntax is required (no backreferences or lookaround)`;
  }
}

/** Compiles with RE2 semantics; throws (so a proxy NACKs the config) on a pattern RE2 refuses. */
export function compileRe2(pattern: string, caseInsensitive = false): RE2JS {
  const problem = re2Problem(pattern);
  if (problem !== undefined) throw new SyntaxError(`invalid regex ${JSON.stringify(pattern)}: ${problem}`);
  return RE2JS.compile(pattern, caseInsensitive ? RE2JS.CASE_INSENSITIVE : 0);
}

/**
 * Envoy's regex substitution (RE2::GlobalReplace): every non-overlapping match is replaced; `\0`..`\9` insert a
 * capture group and `\\` a backslash. Returns the parts, or a reason when the rewrite is one RE2 would refuse.
 */
export function parseSubstitution(rewrite: string, groups: number): Array<string | number> | string {
  const parts: Array<string | number> = [];
  let literal = '';
  for (let i = 0; i < rewrite.length; i++) {
    const c = rewrite[i]!;
    if (c !== '\\') {
      literal += c;
      continue;
    }
    const next = rewrite[i + 1];
    i++;
    if (next === '\\') {
      literal += '\\';
    } else if (next !== undefined && next >= '0' && next <= '9') {
      const group = Number(next);
      if (group > groups) return `rewrite refers to \\${group} but the regex has ${groups} capture groups`;
      if (literal !== '') parts.push(literal);
      literal = '';
      parts.push(group);
    } else {
      return 'invalid rewrite: a backslash must be followed by a digit or a backslash';
    }
  }
  if (literal !== '') parts.push(literal);
  return parts;
}

/** Why a uriRegexRewrite would be refused, or undefined. */
export function regexRewriteProblem(match: string, rewrite: string): string | undefined {
  const problem = re2Problem(match);
  if (problem !== undefined) return problem;
  const parts = parseSubstitution(rewrite, RE2JS.compile(match).groupCount());
  return typeof parts === 'string' ? parts : undefined;
}

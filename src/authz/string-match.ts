/**
 * Istio's one string-match grammar, shared by every AuthorizationPolicy field: `abc` exact, `abc*` prefix,
 * `*abc` suffix, `*` any non-empty value. Compiled once into a tagged object; matching is a switch.
 */
export type StringMatcher =
  | { readonly kind: 'exact'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: 'prefix'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: 'suffix'; readonly value: string; readonly ignoreCase: boolean }
  /** `*`: Istio emits the regex `.+`, so an empty value does not match. */
  | { readonly kind: 'nonEmpty' };

export function compileStringMatcher(pattern: string, ignoreCase = false): StringMatcher {
  const fold = (s: string): string => (ignoreCase ? s.toLowerCase() : s);
  if (pattern === '*') return { kind: 'nonEmpty' };
  if (pattern.startsWith('*')) return { kind: 'suffix', value: fold(pattern.slice(1)), ignoreCase };
  if (pattern.endsWith('*')) return { kind: 'prefix', value: fold(pattern.slice(0, -1)), ignoreCase };
  return { kind: 'exact', value: fold(pattern), ignoreCase };
}

export function matchString(m: StringMatcher, actual: string): boolean {
  switch (m.kind) {
    case 'exact':
      return (m.ignoreCase ? actual.toLowerCase() : actual) === m.value;
    case 'prefix':
      return (m.ignoreCase ? actual.toLowerCase() : actual).startsWith(m.value);
    case 'suffix':
      return (m.ignoreCase ? actual.toLowerCase() : actual).endsWith(m.value);
    case 'nonEmpty':
      return actual.length > 0;
    default:
      return assertNever(m);
  }
}

export function assertNever(x: never): never {
  throw new TypeError(`unhandled matcher kind: ${JSON.stringify(x)}`);
}

/**
 * Istio's StringMatch compiled once into a small immutable object, Envoy's semantics: exact and prefix compare code
 * units (case-sensitive unless asked), regex is RE2 and must match the whole value, `present` accepts any value.
 */
import type { RE2JS } from 're2js';
import type { StringMatch } from '../proxyconfig/types.js';
import { compileRe2 } from './re2.js';

export interface StringMatcher {
  test(value: string): boolean;
}

class Exact implements StringMatcher {
  constructor(private readonly want: string) {}
  test(v: string): boolean {
    return v === this.want;
  }
}

class ExactIgnoreCase implements StringMatcher {
  private readonly want: string;
  constructor(want: string) {
    this.want = want.toLowerCase();
  }
  test(v: string): boolean {
    return v.length === this.want.length && v.toLowerCase() === this.want;
  }
}

class Prefix implements StringMatcher {
  constructor(private readonly want: string) {}
  test(v: string): boolean {
    return v.startsWith(this.want);
  }
}

class PrefixIgnoreCase implements StringMatcher {
  private readonly want: string;
  constructor(want: string) {
    this.want = want.toLowerCase();
  }
  test(v: string): boolean {
    return v.length >= this.want.length && v.slice(0, this.want.length).toLowerCase() === this.want;
  }
}

class FullRegex implements StringMatcher {
  private readonly re: RE2JS;
  constructor(pattern: string) {
    this.re = compileRe2(pattern);
  }
  test(v: string): boolean {
    return this.re.matches(v);
  }
}

const PRESENT: StringMatcher = { test: () => true };

/**
 * `ignoreCase` is Envoy's route `case_sensitive: false`: it applies to exact and prefix only; a regex carries its own
 * `(?i)` if it wants one. Throws on a regex RE2 refuses.
 */
export function compileStringMatch(m: StringMatch, ignoreCase = false): StringMatcher {
  if ('exact' in m) return ignoreCase ? new ExactIgnoreCase(m.exact) : new Exact(m.exact);
  if ('prefix' in m) return ignoreCase ? new PrefixIgnoreCase(m.prefix) : new Prefix(m.prefix);
  if ('regex' in m) return new FullRegex(m.regex);
  return PRESENT;
}

/** The prefix a match strips in a prefix rewrite, or undefined when the match is not a prefix match. */
export function matchedPrefixLength(m: StringMatch | undefined): number | undefined {
  return m !== undefined && 'prefix' in m ? m.prefix.length : undefined;
}

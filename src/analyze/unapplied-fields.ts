/**
 * The shared shape of the "accepted but not applied" checks (WEFT0131 and on): each kind family lists what a
 * resource sets that weft does not apply, with where it is written; this turns each into one warning, so a
 * setting is never silently ignored.
 */
import type { Check } from './context.js';
import type { Finding } from './finding.js';

export type Path = readonly (string | number)[];

/** One setting weft accepts and ignores: where it is written and what the user gets instead. */
export interface Unapplied {
  path: Path;
  what: string;
  /** Where the docs say why, when not the check's own page. */
  doc?: string;
}

/** A check that warns once per unapplied setting of every resource of `kind`. */
export function unappliedCheck<S>(kind: string, code: string, doc: string, collect: (spec: S) => Unapplied[]): Check {
  return (ctx) => {
    const out: Finding[] = [];
    for (const r of ctx.of<S>(kind)) {
      for (const u of collect(r.spec)) {
        out.push(ctx.finding(r.entry, { code, severity: 'warning', path: ['spec', ...u.path], message: `weft does not apply ${u.what}`, fix: `remove the setting, or keep it knowing weft ignores it (${u.doc ?? doc})` }));
      }
    }
    return out;
  };
}

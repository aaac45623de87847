/**
 * Trust domain migration, as Istio defines it (MeshConfig `trustDomainAliases`, the "trust domain migration" task):
 * the mesh's trust domain and its aliases are one bundle. A principal naming `cluster.local` or any domain of the
 * bundle stands for every domain of the bundle; a `trustDomains` value naming a domain of the bundle stands for all
 * of them. Values that name another domain, or none (`*`), are kept as written. Istio applies this to every policy
 * whether or not aliases are set, so with trust domain `td1` a principal `cluster.local/ns/a/sa/b` means `td1/ns/a/sa/b`.
 */

/** The mesh's trust domain first, then its aliases. */
export type TrustDomainBundle = readonly string[];

/** In authorization policies `cluster.local` points at the current trust domain and its aliases. */
const LOCAL_POINTER = 'cluster.local';

function prefixMatch(a: string, pattern: string): boolean {
  return pattern.endsWith('*') && a.startsWith(pattern.slice(0, -1));
}

function suffixMatch(a: string, pattern: string): boolean {
  return pattern.startsWith('*') && a.endsWith(pattern.slice(1));
}

/** Istio's two-way string match: the pattern may be on either side. */
function matchesAny(a: string, list: TrustDomainBundle): boolean {
  return list.some((s) => a === s || s === '*' || prefixMatch(a, s) || prefixMatch(s, a) || suffixMatch(a, s) || suffixMatch(s, a));
}

/** Every principal whose trust domain is in the bundle (or is `cluster.local`), once for each domain of the bundle. */
export function replaceTrustDomainAliases(bundle: TrustDomainBundle, principals: readonly string[]): string[] {
  const out: string[] = [];
  for (const principal of principals) {
    const parts = principal.split('/');
    // Only `<td>/ns/<ns>/sa/<sa>` names a trust domain; `*` as the whole domain enforces none.
    if (parts.length !== 5 || parts[0] === '*') {
      out.push(principal);
      continue;
    }
    const td = parts[0]!;
    if (!matchesAny(td, bundle) && td !== LOCAL_POINTER) {
      out.push(principal);
      continue;
    }
    const forAliases: string[] = [];
    for (const domain of bundle) {
      // A wildcard domain that already covers this one is kept as written rather than repeated per domain.
      const p = suffixMatch(domain, td) ? principal : [domain, ...parts.slice(1)].join('/');
      if (!forAliases.includes(p)) forAliases.push(p);
    }
    out.push(...forAliases);
  }
  return out;
}

/** `trustDomains` values: a domain of the bundle expands to the whole bundle; duplicates dropped, first kept. */
export function expandTrustDomainAliases(bundle: TrustDomainBundle, values: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values) for (const x of bundle.includes(v) ? bundle : [v]) if (!out.includes(x)) out.push(x);
  return out;
}

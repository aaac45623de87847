/**
 * Where a JWT rule looks for its token: the headers (with an optional prefix such as `Bearer `), query
 * parameters and cookies it names, or, when it names none, Istio's defaults: `Authorization: Bearer <t>`
 * and the `access_token` query parameter.
 */
export type TokenLocation =
  | { readonly kind: 'header'; readonly name: string; readonly prefix: string }
  | { readonly kind: 'param'; readonly name: string }
  | { readonly kind: 'cookie'; readonly name: string };

export interface FoundToken {
  readonly token: string;
  readonly location: TokenLocation;
}

export const DEFAULT_LOCATIONS: readonly TokenLocation[] = [
  { kind: 'header', name: 'authorization', prefix: 'Bearer ' },
  { kind: 'param', name: 'access_token' },
];

export function sameLocation(a: TokenLocation, b: TokenLocation): boolean {
  return a.kind === b.kind && a.name === b.name && (a.kind !== 'header' || b.kind !== 'header' || a.prefix === b.prefix);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The token at one location, or undefined; header names are looked up lower-case. */
export function extractToken(loc: TokenLocation, headers: Readonly<Record<string, string>>, query: URLSearchParams): string | undefined {
  switch (loc.kind) {
    case 'header': {
      const value = headers[loc.name];
      if (value === undefined) return undefined;
      // Envoy compares the prefix case-sensitively; a header without it holds no token for this rule.
      if (!value.startsWith(loc.prefix)) return undefined;
      const token = value.slice(loc.prefix.length).trim();
      return token === '' ? undefined : token;
    }
    case 'param': {
      const token = query.get(loc.name);
      return token === null || token === '' ? undefined : token;
    }
    case 'cookie':
      return cookieValue(headers.cookie, loc.name) || undefined;
    default: {
      const never: never = loc;
      throw new TypeError(`unknown token location ${JSON.stringify(never)}`);
    }
  }
}

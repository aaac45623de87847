/**
 * Gateway API hostname rules: a listener's hostname and a route's hostnames intersect (an exact name with an exact
 * name, a wildcard `*.example.com` with any name below it, taking the more specific side), and a wildcard matches
 * one or more labels.
 */

/** Does `wildcard` (`*.example.com`) cover `name` (a name or a narrower wildcard)? */
function covers(wildcard: string, name: string): boolean {
  if (!wildcard.startsWith('*.')) return false;
  const suffix = wildcard.slice(1);
  const bare = name.startsWith('*.') ? name.slice(1) : name;
  return bare.endsWith(suffix) && bare.length > suffix.length;
}

/**
 * The hostnames a route serves on a listener: the route's own narrowed to the listener's. Undefined listener
 * hostname means any; an empty route list means the listener's (or any, `*`). An empty result: no intersection.
 */
export function intersectHostnames(listener: string | undefined, route: readonly string[]): string[] {
  if (route.length === 0) return [listener ?? '*'];
  if (listener === undefined) return [...new Set(route)];
  const out = new Set<string>();
  for (const r of route) {
    if (r === listener || covers(listener, r)) out.add(r);
    else if (covers(r, listener)) out.add(listener);
  }
  return [...out];
}

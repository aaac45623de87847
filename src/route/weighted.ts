/**
 * Istio's weighted split as Envoy's weighted_clusters: a destination is chosen with probability weight / total. One
 * destination needs no draw whatever its weight; with several, a zero weight is never chosen (Istio leaves it out).
 * `random` returns [0, 1) and is injected so tests can pin every branch.
 */
export function pickWeighted<T extends { readonly weight: number }>(dests: readonly T[], random: () => number): T | undefined {
  if (dests.length <= 1) return dests[0];
  let total = 0;
  for (const d of dests) total += d.weight;
  if (total <= 0) return undefined;
  let r = Math.floor(random() * total);
  for (const d of dests) {
    if (r < d.weight) return d;
    r -= d.weight;
  }
  return undefined;
}

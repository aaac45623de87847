export interface RouteDestination {
  host: string;
  port: number;
  weight: number;
}

/** Istio's weighted split: a destination is chosen with probability weight / total; one destination needs no draw. */
export function pickWeighted(dests: readonly RouteDestination[], random: () => number = Math.random): RouteDestination | undefined {
  if (dests.length <= 1) return dests[0];
  let total = 0;
  for (const d of dests) total += d.weight;
  if (total <= 0) return dests[0];
  let r = random() * total;
  for (const d of dests) {
    r -= d.weight;
    if (r < 0) return d;
  }
  return dests[dests.length - 1];
}

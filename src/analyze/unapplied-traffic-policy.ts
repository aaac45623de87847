/**
 * DestinationRule settings weft accepts, as Istio's API has them, but does not apply (WEFT0130): a rule that asks
 * for an HTTP/1.1 upgrade to HTTP/2 or for the client's protocol upstream would otherwise be silently ignored.
 * docs/traffic.md ("Not applied, and why") says why each is not.
 */
import type { DestinationRuleSpec } from '../config/kinds/destination-rule.js';
import type { TrafficPolicy } from '../config/kinds/traffic-policy.js';
import type { Check } from './context.js';
import type { Finding } from './finding.js';

type Path = readonly (string | number)[];
type HttpPool = NonNullable<NonNullable<TrafficPolicy['connectionPool']>['http']>;

/** What a policy (top level, a subset's, a port's) sets that weft does not apply, with where it is written. */
function unapplied(policy: { connectionPool?: TrafficPolicy['connectionPool'] } | undefined, path: Path): { path: Path; what: string }[] {
  if (policy === undefined) return [];
  const out: { path: Path; what: string }[] = [];
  const http: HttpPool | undefined = policy.connectionPool?.http;
  if (http?.h2UpgradePolicy === 'UPGRADE') out.push({ path: [...path, 'connectionPool', 'http', 'h2UpgradePolicy'], what: 'h2UpgradePolicy UPGRADE: an http port stays HTTP/1.1 upstream' });
  if (http?.useClientProtocol === true) out.push({ path: [...path, 'connectionPool', 'http', 'useClientProtocol'], what: "useClientProtocol: the upstream protocol follows the port's protocol, not the client's" });
  return out;
}

export const checkUnappliedTrafficPolicy: Check = (ctx) => {
  const out: Finding[] = [];
  for (const dr of ctx.of<DestinationRuleSpec>('DestinationRule')) {
    const top = dr.spec.trafficPolicy;
    const found = [
      ...unapplied(top, ['spec', 'trafficPolicy']),
      ...(top?.portLevelSettings ?? []).flatMap((p, i) => unapplied(p, ['spec', 'trafficPolicy', 'portLevelSettings', i])),
      ...(dr.spec.subsets ?? []).flatMap((s, i) => [
        ...unapplied(s.trafficPolicy, ['spec', 'subsets', i, 'trafficPolicy']),
        ...(s.trafficPolicy?.portLevelSettings ?? []).flatMap((p, j) => unapplied(p, ['spec', 'subsets', i, 'trafficPolicy', 'portLevelSettings', j])),
      ]),
    ];
    for (const f of found) {
      out.push(ctx.finding(dr.entry, { code: 'WEFT0130', severity: 'warning', path: f.path, message: `weft does not apply ${f.what}`, fix: 'remove the setting, or keep it knowing weft ignores it (docs/traffic.md, "Not applied, and why")' }));
    }
  }
  return out;
};

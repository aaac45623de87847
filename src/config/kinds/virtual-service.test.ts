import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseResources } from '../load.js';
import { formatIssue } from '../issues.js';
import type { ConfigIssue } from '../issues.js';
import { isWeftError } from '../../errors.js';

/** The formatted problems a VirtualService spec produces, or [] when it applies. */
function problems(spec: string): string[] {
  const text = `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: vs\nspec:\n${spec}`;
  try {
    parseResources(text, 'vs.yaml');
    return [];
  } catch (err) {
    assert.ok(isWeftError(err), `expected a WeftError, got ${String(err)}`);
    return ((err.detail?.['issues'] ?? []) as ConfigIssue[]).map(formatIssue);
  }
}

/** An http route list for host `r` whose first rule carries `rule` (YAML lines indented for `- `). */
const http = (rule: string): string => `  hosts: [r]\n  http:\n  - ${rule}\n    route:\n    - destination: { host: r }\n`;

// Istio accepts all of these (its validation webhook and the reference page's forms).
const accepted: Array<[string, string]> = [
  ['withoutHeaders regex "*" (presence)', http('match:\n    - withoutHeaders:\n        x-debug: { regex: "*" }')],
  ['header match {} (presence)', http('match:\n    - headers:\n        x-debug: {}')],
  ['uri with an empty prefix', http('match:\n    - uri: { prefix: "" }')],
  ['RE2 syntax: named group, classes, (?i)', http('match:\n    - uri: { regex: "(?i)/(?P<id>[[:digit:]]+)/\\\\pL*" }')],
  ['retryOn with conditions and a status code', http('retries: { attempts: 3, perTryTimeout: 2s, retryOn: "gateway-error,connect-failure,503" }')],
  ['fault with percentage and deprecated percent', http('fault:\n      delay: { percent: 10, fixedDelay: 5s }\n      abort: { grpcStatus: UNAVAILABLE, percentage: { value: 0.1 } }')],
  ['mirror with mirrorPercentage', http('mirror: { host: httpbin, subset: v2 }\n    mirrorPercentage: { value: 50 }')],
  ['mirrors with percentages', http('mirrors:\n    - destination: { host: a }\n      percentage: { value: 10 }')],
  ['corsPolicy', http('corsPolicy:\n      allowOrigins: [{ exact: "https://example.com" }, { regex: "https://.*[.]org" }]\n      allowMethods: [GET, POST]\n      allowHeaders: ["*"]\n      maxAge: 24h\n      unmatchedPreflights: IGNORE')],
  ['headers with an authority set', http('headers:\n      request:\n        set: { host: "b.example.com", x-a: "100%%" }\n        remove: [x-b]')],
  ['redirect with derivePort', '  hosts: [r]\n  http:\n  - redirect: { scheme: https, derivePort: FROM_REQUEST_PORT, redirectCode: 308 }\n'],
  ['directResponse with bytes', '  hosts: [r]\n  http:\n  - directResponse: { status: 503, body: { bytes: "AAEC" } }\n'],
  ['uriRegexRewrite with groups', http('rewrite:\n      uriRegexRewrite: { match: "^/service/([^/]+)(/.*)$", rewrite: "\\\\2/instance/\\\\1" }')],
  ['a delegate (no hosts)', '  http:\n  - match: [{ uri: { prefix: /productpage/v1 } }]\n    route:\n    - destination: { host: productpage-v1 }\n'],
  ['tls route with SNI under a wildcard host', '  hosts: ["*.bookinfo.com"]\n  gateways: [mygateway]\n  tls:\n  - match:\n    - sniHosts: [login.bookinfo.com]\n      port: 443\n    route:\n    - destination: { host: login.prod.svc.cluster.local }\n'],
  ['tcp route with subnets', '  hosts: [mongo]\n  tcp:\n  - match:\n    - port: 27017\n      destinationSubnets: [10.0.0.0/8, 192.168.1.1]\n    route:\n    - destination: { host: mongo.backup.svc.cluster.local, port: { number: 5555 } }\n'],
];

// Istio refuses these; weft refuses them at apply, naming file:line:column and the field.
const refused: Array<[string, string, string[]]> = [
  ['a backreference (RE2 has none)', http('match:\n    - uri: { regex: "(a)\\\\1" }'), ['vs.yaml:9:21: spec.http[0].match[0].uri.regex: error parsing regexp: invalid escape sequence: `\\1`; RE2 syntax is required (no backreferences or lookaround)']],
  ['a lookahead', http('match:\n    - headers:\n        x: { regex: "(?=a)b" }'), ['vs.yaml:10:21: spec.http[0].match[0].headers.x.regex: error parsing regexp: invalid or unsupported Perl syntax: `(?=`; RE2 syntax is required (no backreferences or lookaround)']],
  ['regex "*" in headers (only withoutHeaders takes it)', http('match:\n    - headers:\n        x: { regex: "*" }'), ['vs.yaml:10:21: spec.http[0].match[0].headers.x.regex: error parsing regexp: missing argument to repetition operator: `*`; RE2 syntax is required (no backreferences or lookaround)']],
  ['a regex longer than 1024', http(`match:\n    - uri: { regex: "${'a'.repeat(1025)}" }`), ['vs.yaml:9:21: spec.http[0].match[0].uri.regex: regex is too large, max length allowed is 1024']],
  ['an empty header prefix', http('match:\n    - headers:\n        x: { prefix: "" }'), ['vs.yaml:10:22: spec.http[0].match[0].headers.x.prefix: prefix string match should not be empty']],
  ['a bad duration', http('timeout: 10 seconds'), ['vs.yaml:8:14: spec.http[0].timeout: invalid duration: expected e.g. "10s", "1.5h", "1h30m", "100ms"']],
  ['a timeout under a millisecond', http('timeout: 500us'), ['vs.yaml:8:14: spec.http[0].timeout: duration must be at least 1ms']],
  ['a perTryTimeout below ms precision', http('retries: { attempts: 2, perTryTimeout: 1.5ms }'), ['vs.yaml:8:44: spec.http[0].retries.perTryTimeout: only durations to ms precision are supported']],
  ['retryOn with a space after the comma', http('retries: { attempts: 2, retryOn: "5xx, reset" }'), ['vs.yaml:8:38: spec.http[0].retries.retryOn: " reset" is not a valid retryOn policy']],
  ['retries configured with attempts 0', http('retries: { attempts: 0, retryOn: 5xx }'), ['vs.yaml:8:5: spec.http[0].retries: http retry policy configured when attempts are set to 0 (disabled)']],
  ['an unknown gRPC status', http('fault:\n      abort: { grpcStatus: NOPE, percentage: { value: 1 } }'), ['vs.yaml:9:28: spec.http[0].fault.abort.grpcStatus: not a supported gRPC status name, e.g. UNAVAILABLE']],
  ['a fault percentage below 0.0001', http('fault:\n      abort: { httpStatus: 500, percentage: { value: 0.00001 } }'), ['vs.yaml:9:54: spec.http[0].fault.abort.percentage.value: percentage must be 0 or in [0.0001, 100]']],
  ['a header value with CR LF', http('headers:\n      request:\n        set: { x-a: "v\\r\\nx-admin: 1" }'), ['vs.yaml:10:21: spec.http[0].headers.request.set["x-a"]: header value must not contain control characters (CR, LF, NUL...)']],
  ['an Envoy %VARIABLE% in a header value', http('headers:\n      request:\n        set: { x-a: "%HOSTNAME%" }'), ['vs.yaml:10:21: spec.http[0].headers.request.set["x-a"]: a lone % is not allowed: write %% for a literal %; Envoy %VARIABLE% substitutions are not supported']],
  ['an unsupported redirect code', '  hosts: [r]\n  http:\n  - redirect: { uri: /a, redirectCode: 305 }\n', ['vs.yaml:8:40: spec.http[0].redirect.redirectCode: redirectCode must be one of 301, 302, 303, 307, 308']],
  ['redirect and route together', '  hosts: [r]\n  http:\n  - redirect: { uri: /a }\n    route:\n    - destination: { host: r }\n', ['vs.yaml:8:5: spec.http[0]: HTTP route cannot contain both route and redirect']],
  ['prefixRewrite with an exact uri match', '  hosts: [r]\n  http:\n  - match: [{ uri: { exact: /a } }]\n    redirect: { prefixRewrite: /b }\n', ['vs.yaml:8:15: spec.http[0].match[0].uri: redirect prefixRewrite requires all URI matches to use prefix match type']],
  ['a uriRegexRewrite naming a missing group', http('rewrite:\n      uriRegexRewrite: { match: "^/(a)$", rewrite: "/\\\\2" }'), ['vs.yaml:9:7: spec.http[0].rewrite.uriRegexRewrite: rewrite refers to \\2 but the regex has 1 capture groups']],
  ['the authority set twice', http('rewrite: { authority: a.com }\n    headers:\n      request:\n        set: { host: b.com }'), ['vs.yaml:9:5: spec.http[0].headers: authority header cannot be set multiple times (rewrite.authority, headers.request.set.host)']],
  ['all weights zero', '  hosts: [r]\n  http:\n  - route:\n    - destination: { host: a }\n      weight: 0\n    - destination: { host: b }\n', ['vs.yaml:8:5: spec.http[0].route: total destination weight = 0']],
  ['wildcard * bound to the mesh', '  hosts: ["*"]\n  http:\n  - route:\n    - destination: { host: a }\n', ['vs.yaml:6:11: spec.hosts[0]: wildcard host * is not allowed for virtual services bound to the mesh gateway']],
  ['SNI host outside the hosts', '  hosts: [a.com]\n  tls:\n  - match:\n    - sniHosts: [b.com]\n    route:\n    - destination: { host: b }\n', ['vs.yaml:9:18: spec.tls[0].match[0].sniHosts[0]: SNI host "b.com" is not a compatible subset of any of the virtual service hosts: [a.com]']],
  ['a delegate with gateways', '  gateways: [gw]\n  http:\n  - route:\n    - destination: { host: a }\n', ['vs.yaml:6:3: spec.gateways: delegate virtual service must have no gateways specified']],
  ['exponentialDelay (Istio: not supported yet)', http('fault:\n      delay: { exponentialDelay: 1s, percentage: { value: 1 } }'), ['vs.yaml:9:34: spec.http[0].fault.delay.exponentialDelay: exponentialDelay not supported yet (as in Istio)']],
  ['a bad destination subnet', '  hosts: [m]\n  tcp:\n  - match:\n    - destinationSubnets: [10.0.0.0/33]\n    route:\n    - destination: { host: m }\n', ['vs.yaml:9:28: spec.tcp[0].match[0].destinationSubnets[0]: invalid IP address or CIDR "10.0.0.0/33"']],
  ['exportTo * with another value', '  hosts: [r]\n  exportTo: ["*", "."]\n  http:\n  - route:\n    - destination: { host: a }\n', ['vs.yaml:7:3: spec.exportTo: cannot have both public (*) and non-public exportTo values for a resource']],
];

describe('VirtualService: what Istio accepts applies', () => {
  for (const [name, spec] of accepted) test(name, () => assert.deepEqual(problems(spec), []));
});

describe('VirtualService: what Istio refuses is refused at apply with file:line:field', () => {
  for (const [name, spec, want] of refused) test(name, () => assert.deepEqual(problems(spec), want));
});

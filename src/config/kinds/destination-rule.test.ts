/**
 * DestinationRule validation, case by case from Istio's ValidateDestinationRule: every refusal names the file,
 * line, column and field, and the examples of Istio's reference page load unchanged.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseResources } from '../load.js';
import { formatIssue } from '../issues.js';
import type { ConfigIssue } from '../issues.js';
import { isWeftError } from '../../errors.js';

function problems(text: string): string[] {
  try {
    parseResources(text, 'dr.yaml');
    return [];
  } catch (err) {
    assert.ok(isWeftError(err), `expected a WeftError, got ${String(err)}`);
    return ((err.detail?.['issues'] ?? []) as ConfigIssue[]).map(formatIssue);
  }
}

/** A DestinationRule whose spec is `body` (indented by two spaces); the spec starts on line 6. */
const dr = (body: string): string => `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: r\nspec:\n${body}`;

// Istio's reference page, DestinationRule and its messages, example by example.
const REFERENCE: Record<string, string> = {
  'simple load balancing': '  host: ratings.prod.svc.cluster.local\n  trafficPolicy:\n    loadBalancer:\n      simple: LEAST_REQUEST\n',
  'subset policy': '  host: ratings.prod.svc.cluster.local\n  trafficPolicy:\n    loadBalancer:\n      simple: LEAST_REQUEST\n  subsets:\n  - name: testversion\n    labels:\n      version: v3\n    trafficPolicy:\n      loadBalancer:\n        simple: ROUND_ROBIN\n',
  'port-level settings': '  host: ratings.prod.svc.cluster.local\n  trafficPolicy:\n    portLevelSettings:\n    - port:\n        number: 80\n      loadBalancer:\n        simple: LEAST_REQUEST\n    - port:\n        number: 9080\n      loadBalancer:\n        simple: ROUND_ROBIN\n',
  'workload selector with credentialName': '  host: example.com\n  workloadSelector:\n    matchLabels:\n      app: ratings\n  trafficPolicy:\n    loadBalancer:\n      simple: ROUND_ROBIN\n    portLevelSettings:\n    - port:\n        number: 31443\n      tls:\n        credentialName: client-credential\n        mode: MUTUAL\n',
  'sticky sessions by cookie': '  host: ratings.prod.svc.cluster.local\n  trafficPolicy:\n    loadBalancer:\n      consistentHash:\n        httpCookie:\n          name: user\n          ttl: 0s\n',
  'redis connection pool': '  host: myredissrv.prod.svc.cluster.local\n  trafficPolicy:\n    connectionPool:\n      tcp:\n        maxConnections: 100\n        connectTimeout: 30ms\n        tcpKeepalive:\n          time: 7200s\n          interval: 75s\n',
  'circuit breaker policy': '  host: reviews.prod.svc.cluster.local\n  trafficPolicy:\n    connectionPool:\n      tcp:\n        maxConnections: 100\n      http:\n        http2MaxRequests: 1000\n        maxRequestsPerConnection: 10\n    outlierDetection:\n      consecutive5xxErrors: 7\n      interval: 5m\n      baseEjectionTime: 15m\n',
  'mutual TLS with files': '  host: mydbserver.prod.svc.cluster.local\n  trafficPolicy:\n    tls:\n      mode: MUTUAL\n      clientCertificate: /etc/certs/myclientcert.pem\n      privateKey: /etc/certs/client_private_key.pem\n      caCertificates: /etc/certs/rootcacerts.pem\n',
  'simple TLS to a wildcard host': '  host: "*.foo.com"\n  trafficPolicy:\n    tls:\n      mode: SIMPLE\n',
  'Istio mutual TLS': '  host: ratings.prod.svc.cluster.local\n  trafficPolicy:\n    tls:\n      mode: ISTIO_MUTUAL\n',
  'locality distribute': '  host: ratings.prod.svc.cluster.local\n  trafficPolicy:\n    loadBalancer:\n      localityLbSetting:\n        distribute:\n        - from: us-west/zone1/*\n          to:\n            "us-west/zone1/*": 80\n            "us-west/zone2/*": 20\n        - from: us-west/zone2/*\n          to:\n            "us-west/zone1/*": 20\n            "us-west/zone2/*": 80\n    outlierDetection:\n      consecutive5xxErrors: 1\n',
  'locality failover': '  host: ratings.prod.svc.cluster.local\n  trafficPolicy:\n    loadBalancer:\n      localityLbSetting:\n        failover:\n        - from: us-east\n          to: eu-west\n        - from: us-west\n          to: us-east\n    outlierDetection:\n      consecutive5xxErrors: 1\n',
  'maglev with a prime table': '  host: ratings\n  trafficPolicy:\n    loadBalancer:\n      consistentHash:\n        useSourceIp: true\n        maglev:\n          tableSize: 65537\n',
  'tunnel': '  host: mysql.example.com\n  trafficPolicy:\n    tunnel:\n      protocol: CONNECT\n      targetHost: proxy.corp.example.com\n      targetPort: 3128\n',
  'tcp idle timeout 0s turns it off': '  host: ratings\n  trafficPolicy:\n    connectionPool:\n      tcp:\n        idleTimeout: 0s\n',
  'selector rule exported to its own namespace': '  host: ratings\n  exportTo: ["."]\n  workloadSelector:\n    matchLabels:\n      app: ratings\n  trafficPolicy:\n    tls:\n      mode: ISTIO_MUTUAL\n',
};

describe('DestinationRule: Istio reference examples load', () => {
  for (const [name, body] of Object.entries(REFERENCE)) {
    test(name, () => assert.deepEqual(problems(dr(body)), []));
  }
});

// Each case: a spec body, and the exact problems (file:line:column: field: reason) it must produce.
const INVALID: { name: string; body: string; expect: string[] }[] = [
  // host
  { name: 'host with a wildcard past the first label', body: '  host: "reviews.*.svc"\n', expect: ["dr.yaml:6:9: spec.host: host \"reviews.*.svc\" is not a valid name (label \"*\" invalid)"] },
  { name: 'host with an all-digit top-level label', body: '  host: reviews.123\n', expect: ["dr.yaml:6:9: spec.host: host \"reviews.123\" is not a valid name (top-level label \"123\" cannot be all digits)"] },
  // trafficPolicy
  { name: 'empty trafficPolicy', body: '  host: r\n  trafficPolicy: {}\n', expect: ["dr.yaml:7:3: spec.trafficPolicy: traffic policy must have at least one field"] },
  { name: 'tunnel with proxyProtocol', body: '  host: r\n  trafficPolicy:\n    tunnel: { targetHost: a.example.com, targetPort: 443 }\n    proxyProtocol: { version: V1 }\n', expect: ["dr.yaml:8:5: spec.trafficPolicy.tunnel: tunnel and proxyProtocol must not be set together"] },
  { name: 'tunnel protocol outside the enum', body: '  host: r\n  trafficPolicy:\n    tunnel: { protocol: GET, targetHost: a.example.com, targetPort: 443 }\n', expect: ["dr.yaml:8:25: spec.trafficPolicy.tunnel.protocol: Invalid option: expected one of \"CONNECT\"|\"POST\""] },
  { name: 'tunnel target that is neither a name nor an address', body: '  host: r\n  trafficPolicy:\n    tunnel: { targetHost: "a b", targetPort: 443 }\n', expect: ["dr.yaml:8:27: spec.trafficPolicy.tunnel.targetHost: tunnel targetHost must be a fully qualified domain name or an IP address"] },
  { name: 'tunnel target port 0', body: '  host: r\n  trafficPolicy:\n    tunnel: { targetHost: a.example.com, targetPort: 0 }\n', expect: ["dr.yaml:8:54: spec.trafficPolicy.tunnel.targetPort: port must be 1-65535"] },
  { name: 'tunnel with proxyProtocol in a subset', body: '  host: r\n  subsets:\n  - name: a\n    trafficPolicy:\n      tunnel: { targetHost: a.example.com, targetPort: 443 }\n      proxyProtocol: { version: V2 }\n', expect: ['dr.yaml:10:7: spec.subsets[0].trafficPolicy.tunnel: tunnel and proxyProtocol must not be set together'] },
  { name: 'proxyProtocol in a port-level setting (Istio has none there)', body: '  host: r\n  trafficPolicy:\n    portLevelSettings:\n    - port: { number: 80 }\n      proxyProtocol: { version: V1 }\n', expect: ['dr.yaml:10:7: spec.trafficPolicy.portLevelSettings[0].proxyProtocol: unknown field'] },
  { name: 'proxyProtocol version V3', body: '  host: r\n  trafficPolicy:\n    proxyProtocol: { version: V3 }\n', expect: ["dr.yaml:8:31: spec.trafficPolicy.proxyProtocol.version: Invalid option: expected one of \"V1\"|\"V2\""] },
  // loadBalancer
  { name: 'simple outside the enum', body: '  host: r\n  trafficPolicy:\n    loadBalancer: { simple: FASTEST }\n', expect: ["dr.yaml:8:29: spec.trafficPolicy.loadBalancer.simple: Invalid option: expected one of \"UNSPECIFIED\"|\"LEAST_CONN\"|\"RANDOM\"|\"PASSTHROUGH\"|\"ROUND_ROBIN\"|\"LEAST_REQUEST\""] },
  { name: 'simple with consistentHash', body: '  host: r\n  trafficPolicy:\n    loadBalancer:\n      simple: RANDOM\n      consistentHash: { useSourceIp: true }\n', expect: ["dr.yaml:8:5: spec.trafficPolicy.loadBalancer: only one of simple, consistentHash may be set (found simple, consistentHash)"] },
  { name: 'two hash keys', body: '  host: r\n  trafficPolicy:\n    loadBalancer:\n      consistentHash: { httpHeaderName: x-user, useSourceIp: true }\n', expect: ["dr.yaml:9:7: spec.trafficPolicy.loadBalancer.consistentHash: only one of httpHeaderName, httpCookie, useSourceIp, httpQueryParameterName may be set (found httpHeaderName, useSourceIp)"] },
  { name: 'cookie without a name', body: '  host: r\n  trafficPolicy:\n    loadBalancer:\n      consistentHash:\n        httpCookie: { ttl: 10s }\n', expect: ["dr.yaml:10:9: spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.name: required field is missing"] },
  { name: 'cookie ttl not a duration', body: '  host: r\n  trafficPolicy:\n    loadBalancer:\n      consistentHash:\n        httpCookie: { name: u, ttl: 10 }\n', expect: ["dr.yaml:10:37: spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.ttl: expected string, received number"] },
  { name: 'ringHash with maglev', body: '  host: r\n  trafficPolicy:\n    loadBalancer:\n      consistentHash:\n        useSourceIp: true\n        ringHash: { minimumRingSize: 1024 }\n        maglev: { tableSize: 65537 }\n', expect: ["dr.yaml:9:7: spec.trafficPolicy.loadBalancer.consistentHash: only one of ringHash, maglev may be set (found ringHash, maglev)"] },
  { name: 'deprecated minimumRingSize with ringHash', body: '  host: r\n  trafficPolicy:\n    loadBalancer:\n      consistentHash:\n        useSourceIp: true\n        minimumRingSize: 1024\n        ringHash: { minimumRingSize: 1024 }\n', expect: ["dr.yaml:11:26: spec.trafficPolicy.loadBalancer.consistentHash.minimumRingSize: only one of minimumRingSize (deprecated) or ringHash/maglev may be set"] },
  { name: 'maglev without a table size', body: '  host: r\n  trafficPolicy:\n    loadBalancer:\n      consistentHash:\n        useSourceIp: true\n        maglev: {}\n', expect: ["dr.yaml:11:9: spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize: tableSize must be set for maglev"] },
  { name: 'maglev table size not prime', body: '  host: r\n  trafficPolicy:\n    loadBalancer:\n      consistentHash:\n        useSourceIp: true\n        maglev: { tableSize: 65536 }\n', expect: ["dr.yaml:11:30: spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize: tableSize must be a prime number for maglev"] },
  { name: 'maglev table size too large', body: '  host: r\n  trafficPolicy:\n    loadBalancer:\n      consistentHash:\n        useSourceIp: true\n        maglev: { tableSize: 5000011 }\n', expect: ["dr.yaml:11:30: spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize: tableSize must be less than 5000011 for maglev"] },
  { name: 'locality distribute with failover', body: '  host: r\n  trafficPolicy:\n    loadBalancer:\n      localityLbSetting:\n        distribute: [{ from: "us-west/*", to: { "us-west/*": 100 } }]\n        failover: [{ from: us-west, to: us-east }]\n', expect: ["dr.yaml:9:7: spec.trafficPolicy.loadBalancer.localityLbSetting: 'distribute' and 'failover' cannot both be set"] },
  { name: 'locality weights not summing to 100', body: '  host: r\n  trafficPolicy:\n    loadBalancer:\n      localityLbSetting:\n        distribute: [{ from: "us-west/*", to: { "us-west/*": 60, "us-east/*": 30 } }]\n', expect: ["dr.yaml:10:43: spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to: total locality weight 90 != 100"] },
  { name: 'locality weight of zero', body: '  host: r\n  trafficPolicy:\n    loadBalancer:\n      localityLbSetting:\n        distribute: [{ from: "us-west/*", to: { "us-west/*": 100, "us-east/*": 0 } }]\n', expect: ["dr.yaml:10:80: spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to[\"us-east/*\"]: locality weight must be in range [1, 100]"] },
  { name: 'overlapping source localities', body: '  host: r\n  trafficPolicy:\n    loadBalancer:\n      localityLbSetting:\n        distribute:\n        - { from: "us-west/*", to: { "us-west/*": 100 } }\n        - { from: "us-west/zone1/*", to: { "us-west/*": 100 } }\n', expect: ["dr.yaml:10:9: spec.trafficPolicy.loadBalancer.localityLbSetting.distribute: locality us-west/zone1/* overlaps one listed before it"] },
  { name: 'wildcard in the middle of a locality', body: '  host: r\n  trafficPolicy:\n    loadBalancer:\n      localityLbSetting:\n        distribute: [{ from: "us-west/*/a", to: { "us-west/*": 100 } }]\n', expect: ["dr.yaml:10:9: spec.trafficPolicy.loadBalancer.localityLbSetting.distribute: locality us-west/*/a: at most one wildcard '*', and only at the end"] },
  { name: 'failover to the same region, a zone, a wildcard', body: '  host: r\n  trafficPolicy:\n    loadBalancer:\n      localityLbSetting:\n        failover:\n        - { from: us-west, to: us-west }\n        - { from: us-west/zone1, to: "eu-*" }\n', expect: [
      "dr.yaml:11:11: spec.trafficPolicy.loadBalancer.localityLbSetting.failover[0]: failover must name different regions in from and to",
      "dr.yaml:12:11: spec.trafficPolicy.loadBalancer.localityLbSetting.failover[1]: failover names regions only (no \"/\")",
      "dr.yaml:12:11: spec.trafficPolicy.loadBalancer.localityLbSetting.failover[1]: failover regions must not contain the '*' wildcard",
    ] },
  { name: 'failover with a topology failoverPriority', body: '  host: r\n  trafficPolicy:\n    loadBalancer:\n      localityLbSetting:\n        failover: [{ from: us-west, to: us-east }]\n        failoverPriority: [topology.istio.io/network, topology.kubernetes.io/zone]\n', expect: ["dr.yaml:11:55: spec.trafficPolicy.loadBalancer.localityLbSetting.failoverPriority[1]: 'failover' cannot be combined with topology label 'topology.kubernetes.io/zone' in failoverPriority"] },
  { name: 'warmup without a duration, percent over 100, aggression under 1', body: '  host: r\n  trafficPolicy:\n    loadBalancer:\n      simple: ROUND_ROBIN\n      warmup: { minimumPercent: 101, aggression: 0.5 }\n', expect: [
      "dr.yaml:10:7: spec.trafficPolicy.loadBalancer.warmup.duration: required field is missing",
      "dr.yaml:10:33: spec.trafficPolicy.loadBalancer.warmup.minimumPercent: Too big: expected number to be <=100",
      "dr.yaml:10:50: spec.trafficPolicy.loadBalancer.warmup.aggression: Too small: expected number to be >=1",
    ] },
  // connectionPool
  { name: 'empty connection pool', body: '  host: r\n  trafficPolicy:\n    connectionPool: {}\n', expect: ["dr.yaml:8:5: spec.trafficPolicy.connectionPool: connection pool must have tcp or http settings"] },
  { name: 'negative limits', body: '  host: r\n  trafficPolicy:\n    connectionPool:\n      tcp: { maxConnections: -1 }\n      http: { http1MaxPendingRequests: -1, http2MaxRequests: -1, maxRequestsPerConnection: -1, maxRetries: -1, maxConcurrentStreams: -1 }\n', expect: [
      "dr.yaml:9:30: spec.trafficPolicy.connectionPool.tcp.maxConnections: must not be negative",
      "dr.yaml:10:40: spec.trafficPolicy.connectionPool.http.http1MaxPendingRequests: must not be negative",
      "dr.yaml:10:62: spec.trafficPolicy.connectionPool.http.http2MaxRequests: must not be negative",
      "dr.yaml:10:92: spec.trafficPolicy.connectionPool.http.maxRequestsPerConnection: must not be negative",
      "dr.yaml:10:108: spec.trafficPolicy.connectionPool.http.maxRetries: must not be negative",
      "dr.yaml:10:134: spec.trafficPolicy.connectionPool.http.maxConcurrentStreams: must not be negative",
    ] },
  { name: 'durations under 1ms', body: '  host: r\n  trafficPolicy:\n    connectionPool:\n      tcp: { connectTimeout: 0s, maxConnectionDuration: 0s, idleTimeout: 1us, tcpKeepalive: { time: 0s, interval: 0s } }\n      http: { idleTimeout: 0s }\n', expect: [
      "dr.yaml:9:30: spec.trafficPolicy.connectionPool.tcp.connectTimeout: invalid duration: expected at least 1ms, e.g. \"10s\", \"1.5h\", \"1h30m\", \"100ms\"",
      "dr.yaml:9:101: spec.trafficPolicy.connectionPool.tcp.tcpKeepalive.time: invalid duration: expected at least 1ms, e.g. \"10s\", \"1.5h\", \"1h30m\", \"100ms\"",
      "dr.yaml:9:115: spec.trafficPolicy.connectionPool.tcp.tcpKeepalive.interval: invalid duration: expected at least 1ms, e.g. \"10s\", \"1.5h\", \"1h30m\", \"100ms\"",
      "dr.yaml:9:57: spec.trafficPolicy.connectionPool.tcp.maxConnectionDuration: invalid duration: expected at least 1ms, e.g. \"10s\", \"1.5h\", \"1h30m\", \"100ms\"",
      "dr.yaml:9:74: spec.trafficPolicy.connectionPool.tcp.idleTimeout: invalid duration: expected \"0s\" (no idle timeout) or at least 1ms",
      "dr.yaml:10:28: spec.trafficPolicy.connectionPool.http.idleTimeout: invalid duration: expected at least 1ms, e.g. \"10s\", \"1.5h\", \"1h30m\", \"100ms\"",
    ] },
  { name: 'http2KeepAlive without its timeout', body: '  host: r\n  trafficPolicy:\n    connectionPool:\n      http: { http2KeepAlive: { interval: 30s } }\n', expect: ['dr.yaml:9:15: spec.trafficPolicy.connectionPool.http.http2KeepAlive.timeout: http2KeepAlive timeout is required'] },
  { name: 'UPGRADE with useClientProtocol', body: '  host: r\n  trafficPolicy:\n    connectionPool:\n      http: { h2UpgradePolicy: UPGRADE, useClientProtocol: true }\n', expect: ["dr.yaml:9:60: spec.trafficPolicy.connectionPool.http.useClientProtocol: useClientProtocol must not be true when h2UpgradePolicy is UPGRADE"] },
  // outlierDetection
  { name: 'outlier percents out of range', body: '  host: r\n  trafficPolicy:\n    outlierDetection: { maxEjectionPercent: 101, minHealthPercent: -1 }\n', expect: [
      "dr.yaml:8:45: spec.trafficPolicy.outlierDetection.maxEjectionPercent: Too big: expected number to be <=100",
      "dr.yaml:8:68: spec.trafficPolicy.outlierDetection.minHealthPercent: Too small: expected number to be >=0",
    ] },
  { name: 'outlier interval and ejection time under 1ms', body: '  host: r\n  trafficPolicy:\n    outlierDetection: { interval: 0s, baseEjectionTime: 0s }\n', expect: [
      "dr.yaml:8:35: spec.trafficPolicy.outlierDetection.interval: invalid duration: expected at least 1ms, e.g. \"10s\", \"1.5h\", \"1h30m\", \"100ms\"",
      "dr.yaml:8:57: spec.trafficPolicy.outlierDetection.baseEjectionTime: invalid duration: expected at least 1ms, e.g. \"10s\", \"1.5h\", \"1h30m\", \"100ms\"",
    ] },
  { name: 'local origin failures without the split', body: '  host: r\n  trafficPolicy:\n    outlierDetection: { consecutiveLocalOriginFailures: 3 }\n', expect: ["dr.yaml:8:57: spec.trafficPolicy.outlierDetection.consecutiveLocalOriginFailures: consecutiveLocalOriginFailures is set but splitExternalLocalOriginErrors is not true"] },
  // tls
  { name: 'tls mode outside the enum', body: '  host: r\n  trafficPolicy:\n    tls: { mode: STRICT }\n', expect: ["dr.yaml:8:18: spec.trafficPolicy.tls.mode: Invalid option: expected one of \"DISABLE\"|\"SIMPLE\"|\"MUTUAL\"|\"ISTIO_MUTUAL\""] },
  { name: 'MUTUAL without certificate and key', body: '  host: r\n  trafficPolicy:\n    tls: { mode: MUTUAL }\n', expect: [
      "dr.yaml:8:5: spec.trafficPolicy.tls.clientCertificate: clientCertificate is required for MUTUAL (or set credentialName)",
      "dr.yaml:8:5: spec.trafficPolicy.tls.privateKey: privateKey is required for MUTUAL (or set credentialName)",
    ] },
  { name: 'credentialName with certificate files', body: '  host: r\n  trafficPolicy:\n    tls: { mode: SIMPLE, credentialName: c, caCertificates: /ca.pem }\n', expect: ["dr.yaml:8:42: spec.trafficPolicy.tls.credentialName: clientCertificate, privateKey, caCertificates and caCrl cannot be set when credentialName is set"] },
  { name: 'insecureSkipVerify with a CA', body: '  host: r\n  trafficPolicy:\n    tls: { mode: SIMPLE, insecureSkipVerify: true, caCertificates: /ca.pem }\n', expect: ["dr.yaml:8:46: spec.trafficPolicy.tls.insecureSkipVerify: caCertificates, credentialName and subjectAltNames cannot be set when insecureSkipVerify is true"] },
  // portLevelSettings
  { name: 'port-level setting without a port or any policy', body: '  host: r\n  trafficPolicy:\n    portLevelSettings:\n    - port: {}\n', expect: [
      "dr.yaml:9:7: spec.trafficPolicy.portLevelSettings[0].port: port.number is required",
      "dr.yaml:9:7: spec.trafficPolicy.portLevelSettings[0]: port traffic policy must have at least one of loadBalancer, connectionPool, outlierDetection, tls",
    ] },
  { name: 'port-level setting with a negative limit', body: '  host: r\n  trafficPolicy:\n    portLevelSettings:\n    - port: { number: 80 }\n      connectionPool: { tcp: { maxConnections: -5 } }\n', expect: ["dr.yaml:10:48: spec.trafficPolicy.portLevelSettings[0].connectionPool.tcp.maxConnections: must not be negative"] },
  // subsets
  { name: 'subsets: duplicate, bad name, bad label, empty policy', body: '  host: r\n  subsets:\n  - name: v1\n  - name: v1\n  - name: V_2\n    labels: { "version": "not ok" }\n    trafficPolicy: {}\n', expect: [
      "dr.yaml:9:11: spec.subsets[1].name: duplicate subset \"v1\" (also subsets[0])",
      "dr.yaml:10:11: spec.subsets[2].name: subset name must be a DNS-1123 label: lowercase letters, digits and \"-\", starting and ending with a letter or digit",
      "dr.yaml:11:26: spec.subsets[2].labels.version: label value must be letters, digits, \"-\", \"_\" and \".\", starting and ending with a letter or digit",
      "dr.yaml:12:5: spec.subsets[2].trafficPolicy: traffic policy must have at least one field",
    ] },
  // exportTo and workloadSelector
  { name: 'exportTo with duplicates and * beside a namespace', body: '  host: r\n  exportTo: [a, a, "*"]\n', expect: [
      "dr.yaml:7:17: spec.exportTo[1]: duplicate entry \"a\" in exportTo",
      "dr.yaml:7:20: spec.exportTo[2]: cannot have both public (*) and non-public exportTo values",
    ] },
  { name: 'selector rule exported everywhere', body: '  host: r\n  exportTo: ["*"]\n  workloadSelector: { matchLabels: { app: x } }\n', expect: ["dr.yaml:7:14: spec.exportTo[0]: a destination rule with a workloadSelector cannot be exported beyond its own namespace"] },
  { name: 'selector rule exported to two namespaces', body: '  host: r\n  exportTo: [".", other]\n  workloadSelector: { matchLabels: { app: x } }\n', expect: ["dr.yaml:7:3: spec.exportTo: a destination rule with a workloadSelector cannot have multiple entries in exportTo"] },
  { name: 'selector with a wildcard', body: '  host: r\n  workloadSelector: { matchLabels: { app: "x*" } }\n', expect: ["dr.yaml:7:43: spec.workloadSelector.matchLabels.app: wildcard is not supported in selector"] },
];

describe('DestinationRule: refusals name file:line:column and field', () => {
  for (const c of INVALID) {
    test(c.name, () => assert.deepEqual(problems(dr(c.body)), c.expect));
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseResources } from '../load.js';
import { isWeftError } from '../../errors.js';

const gateway = (server: string): string => `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: gw, namespace: default }
spec:
  selector: { istio: ingressgateway }
  servers:
${server}`;

test('Gateway tls refused at apply with file:line:field', () => {
  const rows: Array<[server: string, want: RegExp]> = [
    ['  - port: { number: 443, name: https, protocol: HTTPS }\n    hosts: ["a.com"]\n    tls: { mode: SIMPLE, credentialName: c, cipherSuites: [NOT-A-CIPHER] }\n', /gw\.yaml:9:\d+: spec\.servers\[0\]\.tls\.cipherSuites\[0\]: unknown cipher suite "NOT-A-CIPHER"/],
    ['  - port: { number: 443, name: https, protocol: HTTPS }\n    hosts: ["a.com"]\n    tls: { mode: SIMPLE, credentialName: c, minProtocolVersion: TLSV1_3, maxProtocolVersion: TLSV1_2 }\n', /spec\.servers\[0\]\.tls\.minProtocolVersion: minProtocolVersion TLSV1_3 is above/],
    ['  - port: { number: 443, name: https, protocol: HTTPS }\n    hosts: ["a.com"]\n    tls: { mode: SIMPLE, credentialName: c, serverCertificate: /c, privateKey: /k }\n', /mutually exclusive/],
    ['  - port: { number: 443, name: tls, protocol: TLS }\n    hosts: ["a.com"]\n    tls: { mode: PASSTHROUGH, credentialName: c }\n', /PASSTHROUGH passes TLS through: it takes no certificate/],
    ['  - port: { number: 80, name: tcp, protocol: TCP }\n    hosts: ["*"]\n    tls: { mode: SIMPLE, credentialName: c }\n', /a TCP server takes no tls settings/],
  ];
  for (const [server, want] of rows) {
    assert.throws(() => parseResources(gateway(server), 'gw.yaml'), (e) => isWeftError(e, 'CONFIG_INVALID') && want.test(e.message), server);
  }
  // Envoy's names are OpenSSL's; TLS 1.3 suites too.
  const ok = '  - port: { number: 443, name: https, protocol: HTTPS }\n    hosts: ["a.com"]\n    tls: { mode: SIMPLE, credentialName: c, cipherSuites: [ECDHE-ECDSA-AES128-GCM-SHA256, TLS_AES_128_GCM_SHA256], minProtocolVersion: TLSV1_2 }\n';
  assert.equal(parseResources(gateway(ok), 'gw.yaml').length, 1);
});

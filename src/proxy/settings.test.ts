import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProxySettings } from './settings.js';

const required: Record<string, string> = {
  WEFT_NAMESPACE: 'default',
  WEFT_NAME: 'sleep',
  WEFT_SERVICE_ACCOUNT: 'sleep',
  WEFT_POD_IP: '10.0.0.2',
  WEFT_CONTROL_URL: 'https://127.0.0.1:15012',
  WEFT_CA_BUNDLE: 'ca.pem',
  WEFT_BOOTSTRAP_TOKEN: 't',
};
const parse = (extra: Record<string, string> = {}) => {
  const env = new Map(Object.entries({ ...required, ...extra }));
  return parseProxySettings((k) => env.get(k));
};

describe('parseProxySettings: DNS proxy', () => {
  test('no WEFT_DNS_PORT: no DNS proxy, system resolvers', () => {
    const s = parse();
    assert.equal(s.dnsPort, undefined);
    assert.deepEqual(s.dnsUpstream, []);
  });
  test('port and upstream servers', () => {
    const s = parse({ WEFT_DNS_PORT: '15053', WEFT_DNS_UPSTREAM: '10.0.0.1,127.0.0.53:53' });
    assert.equal(s.dnsPort, 15053);
    assert.deepEqual(s.dnsUpstream, [
      { address: '10.0.0.1', port: 53 },
      { address: '127.0.0.53', port: 53 },
    ]);
  });
  test('a bad port or server is refused at start', () => {
    assert.throws(() => parse({ WEFT_DNS_PORT: 'x' }), /WEFT_DNS_PORT/);
    assert.throws(() => parse({ WEFT_DNS_UPSTREAM: 'resolver.example' }), /WEFT_DNS_UPSTREAM/);
  });
});

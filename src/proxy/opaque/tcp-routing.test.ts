/**
 * Opaque connections to a mesh service port, captured and through CONNECT: VirtualService tcp routes (weighted to
 * subsets, destinationSubnets, the default route), tls routes by the ClientHello's SNI without terminating it, and
 * a route to an undefined subset (NR).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseClientHello } from '../capture/client-hello.js';
import { HOST, VIP, capturedOnce, connectOnce, lastEntry, proxy, rawHello, route, startEchoes, stopEchoes, v1, v2 } from './tcp-proxy.fixture.js';

before(startEchoes);
after(stopEchoes);

describe('tcp routes', () => {
  test('no route: the default route balances over the whole service', async () => {
    const p = await proxy({});
    const seen = new Set<string>();
    for (let i = 0; i < 20 && seen.size < 2; i++) seen.add((await capturedOnce(p)).slice(0, 3));
    assert.deepEqual([...seen].sort(), ['one', 'two']);
    p.close();
  });
  // pickWeighted draws floor(random × 100): below 80 is v1, from 80 on is v2.
  const split: Array<[number, string]> = [[0, 'one hi'], [0.79, 'one hi'], [0.8, 'two hi'], [0.99, 'two hi']];
  for (const [r, want] of split) {
    test(`80/20 to subsets v1/v2: a draw of ${r} goes to ${want.split(' ')[0]}`, async () => {
      const p = await proxy({ tcp: [route([['v1', 80], ['v2', 20]])] }, () => r);
      assert.equal(await capturedOnce(p), want);
      assert.equal(await connectOnce(p), want, 'the CONNECT path routes the same way');
      p.close();
    });
  }
  test('the access log names the destination service and the endpoint', async () => {
    const p = await proxy({ tcp: [route([['v2', 100]])] });
    assert.equal(await capturedOnce(p), 'two hi');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(lastEntry(p)?.upstream, 'default/tcp-echo-v2');
    assert.equal(lastEntry(p)?.destinationService, HOST);
    p.close();
  });
  const subnets: Array<[string, string[], string]> = [
    ['the VIP inside the subnet', ['198.19.0.0/16'], 'two hi'],
    ['the VIP itself', [VIP], 'two hi'],
    ['another subnet: the next route', ['10.0.0.0/8'], 'one hi'],
  ];
  for (const [name, cidrs, want] of subnets) {
    test(`destinationSubnets: ${name}`, async () => {
      const p = await proxy({ tcp: [route([['v2', 100]], [{ destinationSubnets: cidrs }]), route([['v1', 100]])] });
      assert.equal(await capturedOnce(p), want);
      assert.equal(await connectOnce(p), want, 'a CONNECT by name is matched on the service address');
      p.close();
    });
  }
  test('a route to a subset no DestinationRule defines: closed, NR', async () => {
    const p = await proxy({ tcp: [route([['v9', 100]])] });
    assert.equal(await capturedOnce(p), '');
    assert.equal(lastEntry(p)?.responseFlags, 'NR');
    assert.match(await connectOnce(p), /^HTTP\/1.1 503/);
    p.close();
  });
});

describe('tls routes by SNI, never terminated', () => {
  const tlsRoutes = [route([['v2', 100]], [{ sniHosts: ['v2.example.com'] }], 9443), route([['v1', 100]], [{ sniHosts: ['*.example.com'] }], 9443)];
  const cases: Array<[string, string]> = [
    ['v2.example.com', 'two'],
    ['V2.EXAMPLE.COM', 'two'],
    ['other.example.com', 'one'],
  ];
  for (const [sni, want] of cases) {
    test(`SNI ${sni} goes to ${want}, captured and through CONNECT`, async () => {
      const p = await proxy({ tls: tlsRoutes, tcp: [route([['v3', 100]], [], 9443)] });
      p.dialledPort = 9443;
      const before = (want === 'two' ? v2 : v1).firstBytes.length;
      assert.equal(await rawHello(p.capture, sni), want);
      const got = (want === 'two' ? v2 : v1).firstBytes[before];
      assert.ok(got !== undefined);
      const hello = parseClientHello(got);
      assert.equal(hello.kind === 'hello' ? hello.sni : undefined, sni.toLowerCase(), 'the ClientHello reached the server as the client sent it');
      assert.equal(await rawHello(p.outbound, sni, 'CONNECT tcp-echo:9443 HTTP/1.1\r\nhost: tcp-echo:9443\r\n\r\n'), want);
      p.close();
    });
  }
  test('no SNI match and plain bytes: the tcp routes of the port', async () => {
    const p = await proxy({ tls: tlsRoutes, tcp: [route([['v1', 100]], [], 9443)] });
    p.dialledPort = 9443;
    assert.equal(await rawHello(p.capture, 'elsewhere.org'), 'one');
    assert.equal(await capturedOnce(p, 'plain'), 'one plain');
    p.close();
  });
});

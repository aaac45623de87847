/**
 * A gateway route to a ServiceEntry host whose DestinationRule says SIMPLE or MUTUAL: the gateway originates TLS
 * (Istio's "Egress Gateways with TLS Origination", second hop) to a real TLS server on loopback standing in for the
 * external host, on the entry's HTTPS port. The server reports the SNI and client certificate it saw. Credentials
 * arrive as a resolved `credentialName` (the Secret's PEM); a refused handshake is 503 with Envoy's `UF`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type tls from 'node:tls';
import type { ClientTlsPolicy, ExternalService, HttpRoute, ProxyConfig } from '../../proxyconfig/types.js';
import { PROXY_CONFIG_SCHEMA } from '../../proxyconfig/types.js';
import { acceptProxyConfig } from '../config/compiled-config.js';
import { EndpointPools } from '../upstream/endpoint-pools.js';
import { TestPki } from '../upstream/test-pki.fixture.js';
import type { TestCa, TestLeaf } from '../upstream/test-pki.fixture.js';
import { stack } from './exchange.js';
import type { Dispatch } from './exchange.js';
import { matchRoute } from './route-layer.js';
import { RecordedExchange } from './recorded-exchange.fixture.js';
import { externalDestinations } from './external-layer.js';
import { compileRoutes } from '../../route/http-route-match.js';

const HOST = 'edition.cnn.test';

const pki = new TestPki();
let ca: TestCa;
let otherCa: TestCa;
let client: TestLeaf;
let rotated: TestLeaf;
let stranger: TestLeaf;
let simpleServer: https.Server;
let mutualServer: https.Server;
const ports = { simple: 0, mutual: 0 };
const pools = new EndpointPools(undefined);

/** What the external host saw of the connection: the SNI, the client certificate's CN, the Host. */
function report(req: http.IncomingMessage, res: http.ServerResponse): void {
  const s = req.socket as tls.TLSSocket & { servername?: string | false };
  const cn = s.getPeerCertificate()?.subject?.CN as string | undefined;
  res.end(`sni=${s.servername || 'none'} client=${cn ?? 'none'} host=${req.headers.host ?? ''}`);
}

async function listen(server: https.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

before(async () => {
  ca = await pki.ca('external-ca');
  otherCa = await pki.ca('another-ca');
  const leaf = await pki.leaf(ca, HOST, [HOST, 'alias.cnn.test'], 'server');
  client = await pki.leaf(ca, 'egress-client', [], 'client');
  rotated = await pki.leaf(ca, 'egress-client-rotated', [], 'client');
  stranger = await pki.leaf(otherCa, 'stranger', [], 'client');
  simpleServer = https.createServer({ cert: leaf.certPem, key: leaf.keyPem }, report);
  // As the task's nginx with ssl_verify_client on: a client certificate from this CA is required.
  mutualServer = https.createServer({ cert: leaf.certPem, key: leaf.keyPem, ca: ca.cert.toString('pem'), requestCert: true, rejectUnauthorized: true }, report);
  ports.simple = await listen(simpleServer);
  ports.mutual = await listen(mutualServer);
});

after(async () => {
  await pools.close();
  for (const server of [simpleServer, mutualServer]) {
    server.closeAllConnections();
    server.close();
  }
  pki.remove();
});

const pem = (p: string): { secret: string; pem: string } => ({ secret: 'weft-system/client-credential', pem: p });

function policy(mode: 'SIMPLE' | 'MUTUAL', over: Partial<ClientTlsPolicy> = {}): ClientTlsPolicy {
  return { mode, sni: null, subjectAltNames: [], caCertificates: null, clientCertificate: null, privateKey: null, credentialName: 'client-credential', insecureSkipVerify: false, ...over };
}

function withCredential(mode: 'SIMPLE' | 'MUTUAL', leaf: TestLeaf | undefined, over: Partial<ClientTlsPolicy> = {}): ClientTlsPolicy {
  return policy(mode, {
    credential: { secret: 'weft-system/client-credential', ca: pem(ca.cert.toString('pem')), ...(leaf && { certificate: pem(leaf.certPem), privateKey: pem(leaf.keyPem) }) },
    ...over,
  });
}

function config(tlsPolicy: ClientTlsPolicy | undefined): ProxyConfig {
  const entry: ExternalService = {
    source: 'default/cnn',
    namespace: 'default',
    hosts: [HOST],
    addresses: [],
    dns: [],
    ports: [{ port: 80, name: 'http', protocol: 'http', targetPort: 80 }, { port: 443, name: 'https', protocol: 'tls', targetPort: 443 }],
    location: 'MESH_EXTERNAL',
    resolution: 'STATIC',
    endpoints: [{ address: '127.0.0.1', ports: { https: tlsPolicy?.mode === 'MUTUAL' ? ports.mutual : ports.simple } }],
    ...(tlsPolicy && { origination: [{ host: HOST, port: 443, tls: tlsPolicy }] }),
  };
  return {
    schema: PROXY_CONFIG_SCHEMA,
    version: 'v',
    proxy: { role: 'gateway', namespace: 'weft-system', name: 'istio-egressgateway', spiffeId: 'spiffe://cluster.local/ns/weft-system/sa/istio-egressgateway-service-account', labels: { istio: 'egressgateway' } },
    trustDomain: 'cluster.local',
    inbound: null,
    outbound: { services: [], externals: [entry], trafficPolicy: 'REGISTRY_ONLY' },
    gateway: null,
    security: { rootNamespace: 'weft-system', pathNormalization: 'BASE', authorizationPolicies: [], jwtRules: [], extensionProviders: [] },
  };
}

// The task's second route: from the gateway on to the external host's port 443.
const TO_443: HttpRoute = { source: 'default/direct-cnn-through-egress-gateway#1', name: '', match: [], destinations: [{ host: HOST, port: 443, weight: 100 }], timeoutMs: 0 };

async function send(tlsPolicy: ClientTlsPolicy | undefined): Promise<RecordedExchange> {
  let meshCalls = 0;
  const mesh: Dispatch = (ex, handler) => {
    meshCalls++;
    handler.onHeaders(ex, 299, {}, { pause() {}, resume() {}, abort() {} });
    handler.onEnd(ex);
  };
  const resolver = { resolve: (h: string) => Promise.reject(new Error(`no name ${h}`)) };
  const dispatch = stack([matchRoute(() => 0), externalDestinations(pools, resolver)], mesh);
  const ex = new RecordedExchange(HOST, '/politics');
  ex.cfg = acceptProxyConfig(config(tlsPolicy));
  ex.routes = compileRoutes([TO_443]);
  dispatch(ex, ex);
  await ex.done;
  assert.equal(meshCalls, tlsPolicy === undefined ? 1 : 0, 'an HTTPS port is an HTTP destination only when TLS is originated');
  return ex;
}

test('SIMPLE with the CA of credentialName: TLS to the HTTPS port, SNI from the Host', async () => {
  const ex = await send(withCredential('SIMPLE', undefined));
  assert.equal(ex.status, 200, ex.failure);
  assert.equal(ex.text, `sni=${HOST} client=none host=${HOST}`);
});

test('sni and subjectAltNames are honoured; a SAN the server lacks is refused with UF', async () => {
  const named = await send(withCredential('SIMPLE', undefined, { sni: 'alias.cnn.test', subjectAltNames: ['alias.cnn.test'] }));
  assert.equal(named.text, `sni=alias.cnn.test client=none host=${HOST}`);
  const refused = await send(withCredential('SIMPLE', undefined, { subjectAltNames: ['not-this.cnn.test'] }));
  assert.deepEqual([refused.status, refused.responseFlags], [503, 'UF']);
  assert.match(refused.failure, /none of the subjectAltNames not-this\.cnn\.test/);
});

test('a CA that did not sign the server refuses it; insecureSkipVerify does not ask', async () => {
  const wrongCa = policy('SIMPLE', { credential: { secret: 'weft-system/c', ca: pem(otherCa.cert.toString('pem')) } });
  const refused = await send(wrongCa);
  assert.deepEqual([refused.status, refused.responseFlags], [503, 'UF']);
  const skipped = await send(policy('SIMPLE', { insecureSkipVerify: true, credential: { secret: 'weft-system/c' } }));
  assert.equal(skipped.status, 200, skipped.failure);
});

test('MUTUAL presents the Secret\'s client certificate', async () => {
  const ex = await send(withCredential('MUTUAL', client));
  assert.equal(ex.status, 200, ex.failure);
  assert.equal(ex.text, `sni=${HOST} client=egress-client host=${HOST}`);
});

test('a rotated Secret (a new config) is presented on the next connection', async () => {
  const ex = await send(withCredential('MUTUAL', rotated));
  assert.equal(ex.text, `sni=${HOST} client=egress-client-rotated host=${HOST}`);
});

test('a client certificate from another CA, or none, is refused: 503 UF', async () => {
  const ex = await send(withCredential('MUTUAL', stranger));
  assert.deepEqual([ex.status, ex.responseFlags], [503, 'UF'], ex.failure);
  const none = await send(policy('MUTUAL', { credential: { secret: 'weft-system/c', ca: pem(ca.cert.toString('pem')) } }));
  assert.deepEqual([none.status, none.responseFlags], [503, 'UF'], none.failure);
});

test('a credential that could not be resolved fails every connection with its reason, nothing dialled', async () => {
  const ex = await send(policy('MUTUAL', { credential: { secret: 'weft-system/gone', problem: 'Secret weft-system/gone not found' } }));
  assert.deepEqual([ex.status, ex.responseFlags], [503, 'UF']);
  assert.match(ex.failure, /credentialName weft-system\/gone: Secret weft-system\/gone not found/);
});

test('without a rule the HTTPS port is not an HTTP destination of the entry', async () => {
  const ex = await send(undefined);
  assert.equal(ex.status, 299);
});

/**
 * Istio's secure-ingress task as written, on a real mesh: a CA and certificates made with openssl, a Secret from
 * them in the gateway's namespace, a Gateway with an HTTPS server (SIMPLE, credentialName) on port 443 published
 * with --publish, and curl --resolve --cacert answering 418 from httpbin's /status/418. Then: two hosts on one port
 * each served its own certificate, MUTUAL refused without a client certificate and served with one, a certificate
 * rotated under a request loop with no failed request, and the Secret never shown or stored in clear.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { eventually, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import { cleanup } from './support/cleanup.js';
import { freeListenPort } from '../bench/listen-port.js';
import { makeCa, makeLeaf, tlsSecretYaml } from './support/openssl-certs.js';

const NS = 'weft-system';

const GATEWAY = (servers: string): string => `apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: mygateway
spec:
  selector:
    istio: ingressgateway # use istio default ingress gateway
  servers:
${servers}`;

const HTTPBIN_SERVER = `  - port:
      number: 443
      name: https
      protocol: HTTPS
    tls:
      mode: SIMPLE
      credentialName: httpbin-credential # must be the same as secret
    hosts:
    - httpbin.example.com
`;

const HTTPBIN_VS = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: httpbin
spec:
  hosts:
  - "httpbin.example.com"
  gateways:
  - mygateway
  http:
  - match:
    - uri:
        prefix: /status
    - uri:
        prefix: /delay
    route:
    - destination:
        port:
          number: 8000
        host: httpbin
`;

function curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('curl', args, { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** The subject CN of the certificate the gateway serves for `servername`, or the handshake's error. */
function servedCertificate(port: number, servername: string, ca: string, client?: { crt: string; key: string }): Promise<string> {
  return new Promise((resolve) => {
    const s = tls.connect({
      host: '127.0.0.1',
      port,
      servername,
      ca: fs.readFileSync(ca),
      ...(client ? { cert: fs.readFileSync(client.crt), key: fs.readFileSync(client.key) } : {}),
    });
    s.once('secureConnect', () => {
      const cn = s.getPeerCertificate().subject.CN;
      // TLS 1.3 reports a refused client certificate after the handshake: wait for the server's verdict.
      s.write('GET /status/200 HTTP/1.1\r\nhost: ' + servername + '\r\nconnection: close\r\n\r\n');
      let body = '';
      s.on('data', (c: Buffer) => (body += c.toString()));
      s.once('close', () => resolve(body.startsWith('HTTP/1.1') ? `CN=${String(cn)} ${body.split('\r\n')[0]}` : `closed after handshake (CN=${String(cn)})`));
    });
    s.once('error', (err) => resolve(`error: ${err.message}`));
  });
}

describe("Istio's secure-ingress task", () => {
  let mesh: MeshRun;
  let dir: string;
  let port: number;
  let ca: { crt: string; key: string };
  const apply = async (yaml: string): Promise<{ code: number; stdout: string; stderr: string }> => mesh.weft(['apply', '-f', '-'], yaml);

  cleanup('secure-ingress mesh and files', async () => {
    await mesh?.stop();
    if (mesh) fs.rmSync(mesh.stateDir, { recursive: true, force: true });
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-secure-ingress-'));
    ca = makeCa(dir, 'example.com', '/O=example Inc./CN=example.com');
    const httpbin = makeLeaf(dir, 'httpbin.example.com', '/CN=httpbin.example.com/O=httpbin organization', ca);
    fs.writeFileSync(path.join(dir, 'secret.yaml'), tlsSecretYaml('httpbin-credential', NS, httpbin));
    fs.writeFileSync(path.join(dir, 'gateway.yaml'), `${GATEWAY(HTTPBIN_SERVER)}---\n${HTTPBIN_VS}`);
    port = await freeListenPort();
    mesh = await startMesh(['examples/httpbin', dir], { isolation: 'none', extraArgs: ['--publish', `443=${port}`] });
  });

  test('curl --resolve --cacert to /status/418 answers 418', async () => {
    const r = await eventually('the HTTPS server answering', async () => {
      const res = await curl(['-s', '-o', '/dev/null', '-w', '%{http_code}', '-HHost:httpbin.example.com', '--resolve', `httpbin.example.com:${port}:127.0.0.1`, '--cacert', ca.crt, `https://httpbin.example.com:${port}/status/418`]);
      return res.stdout === '418' ? res : undefined;
    });
    assert.equal(r.stdout, '418');
  });

  test('weft status and mesh.json show the published port', async () => {
    const r = await mesh.weft(['status']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`443 -> 127\\.0\\.0\\.1:${port}`));
  });

  test('the Secret is redacted by weft get and sealed in the store', async () => {
    const r = await mesh.weft(['get', 'secret', 'httpbin-credential', '-n', NS, '-o', 'yaml']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /tls\.key: <redacted>/);
    assert.match(r.stdout, /type: kubernetes\.io\/tls/);
    const key = fs.readFileSync(path.join(dir, 'httpbin.example.com.key'));
    const b64 = key.toString('base64');
    const store = fs.readFileSync(path.join(mesh.stateDir, 'store.db'));
    // Neither the PEM, nor its base64 as applied, nor any long run of it.
    for (const needle of [key.toString('utf8').split('\n')[1]!, b64.slice(100, 164)]) {
      assert.ok(!store.includes(Buffer.from(needle)), 'key material found in the store file');
      assert.ok(!r.stdout.includes(needle));
    }
    const list = await mesh.weft(['get', 'secrets', '-n', NS]);
    assert.match(list.stdout, /httpbin-credential\s+kubernetes\.io\/tls\s+2\s/);
  });

  test('an HTTPS request for a host of no server is refused in the handshake (no certificate for it)', async () => {
    const r = await curl(['-s', '-o', '/dev/null', '-w', '%{http_code}', '--resolve', `other.example.com:${port}:127.0.0.1`, '--cacert', ca.crt, `https://other.example.com:${port}/status/200`]);
    assert.notEqual(r.code, 0);
    assert.equal(r.stdout, '000');
  });

  test('two hosts on one port: each is served its own certificate, and a Host of the other server gets 404', async () => {
    const hello = makeLeaf(dir, 'helloworld.example.com', '/CN=helloworld.example.com/O=helloworld organization', ca, 1);
    const servers = `${HTTPBIN_SERVER}  - port:
      number: 443
      name: https-helloworld
      protocol: HTTPS
    tls:
      mode: SIMPLE
      credentialName: helloworld-credential
    hosts:
    - helloworld.example.com
`;
    const helloVs = HTTPBIN_VS.replace('name: httpbin\n', 'name: helloworld\n').replace('"httpbin.example.com"', '"helloworld.example.com"');
    const r = await apply(`${tlsSecretYaml('helloworld-credential', NS, hello)}---\n${GATEWAY(servers)}---\n${helloVs}`);
    assert.equal(r.code, 0, r.stderr);
    const served = await eventually('helloworld served', async () => {
      const cn = await servedCertificate(port, 'helloworld.example.com', ca.crt);
      return cn.startsWith('CN=helloworld.example.com') ? cn : undefined;
    });
    assert.equal(served, 'CN=helloworld.example.com HTTP/1.1 200 OK');
    assert.equal(await servedCertificate(port, 'httpbin.example.com', ca.crt), 'CN=httpbin.example.com HTTP/1.1 200 OK');
    // SNI httpbin, Host helloworld: only httpbin's server's routes are reachable on that connection.
    const cross = await curl(['-s', '-o', '/dev/null', '-w', '%{http_code}', '-HHost:helloworld.example.com', '--resolve', `httpbin.example.com:${port}:127.0.0.1`, '--cacert', ca.crt, `https://httpbin.example.com:${port}/status/200`]);
    assert.equal(cross.stdout, '404');
  });

  test('MUTUAL: refused without a client certificate, refused with one of another CA, served with one of the CA', async () => {
    const client = makeLeaf(dir, 'client.example.com', '/CN=client.example.com/O=client organization', ca, 2);
    const otherCa = makeCa(dir, 'other.com', '/O=other Inc./CN=other.com');
    const foreign = makeLeaf(dir, 'foreign.other.com', '/CN=foreign.other.com/O=other', otherCa, 3);
    const httpbin = { crt: path.join(dir, 'httpbin.example.com.crt'), key: path.join(dir, 'httpbin.example.com.key') };
    const mutual = HTTPBIN_SERVER.replace('mode: SIMPLE', 'mode: MUTUAL');
    const r = await apply(`${tlsSecretYaml('httpbin-credential', NS, { ...httpbin, ca: ca.crt })}---\n${GATEWAY(mutual)}`);
    assert.equal(r.code, 0, r.stderr);
    await eventually('MUTUAL in force', async () => ((await servedCertificate(port, 'httpbin.example.com', ca.crt)).startsWith('CN=') ? undefined : true));
    assert.doesNotMatch(await servedCertificate(port, 'httpbin.example.com', ca.crt), /HTTP\/1\.1/);
    assert.doesNotMatch(await servedCertificate(port, 'httpbin.example.com', ca.crt, foreign), /HTTP\/1\.1/);
    assert.equal(await servedCertificate(port, 'httpbin.example.com', ca.crt, client), 'CN=httpbin.example.com HTTP/1.1 200 OK');
    const withCurl = await curl(['-s', '-o', '/dev/null', '-w', '%{http_code}', '--resolve', `httpbin.example.com:${port}:127.0.0.1`, '--cacert', ca.crt, '--cert', client.crt, '--key', client.key, `https://httpbin.example.com:${port}/status/418`]);
    assert.equal(withCurl.stdout, '418');
  });

  test('a rotated certificate is served on new connections with no failed request meanwhile', async () => {
    const httpbin = { crt: path.join(dir, 'httpbin.example.com.crt'), key: path.join(dir, 'httpbin.example.com.key') };
    const r0 = await apply(`${tlsSecretYaml('httpbin-credential', NS, httpbin)}---\n${GATEWAY(HTTPBIN_SERVER)}`);
    assert.equal(r0.code, 0, r0.stderr);
    await eventually('SIMPLE again', async () => ((await servedCertificate(port, 'httpbin.example.com', ca.crt)).endsWith('200 OK') ? true : undefined));
    const before = await servedSerial(port, ca.crt);
    const next = makeLeaf(dir, 'httpbin2.example.com', '/CN=httpbin.example.com/O=httpbin organization rotated', ca, 7);
    let stop = false;
    const failures: string[] = [];
    let done = 0;
    const loop = (async () => {
      while (!stop) {
        const res = await curl(['-s', '-o', '/dev/null', '-w', '%{http_code}', '--resolve', `httpbin.example.com:${port}:127.0.0.1`, '--cacert', ca.crt, `https://httpbin.example.com:${port}/status/200`]);
        done++;
        if (res.stdout !== '200') failures.push(`${res.stdout} ${res.stderr}`);
      }
    })();
    const r = await apply(tlsSecretYaml('httpbin-credential', NS, next));
    assert.equal(r.code, 0, r.stderr);
    const after = await eventually('the new certificate served', async () => {
      const serial = await servedSerial(port, ca.crt);
      return serial !== before ? serial : undefined;
    });
    const seen = done;
    await eventually('a few more requests', () => (done >= seen + 3 ? true : undefined));
    stop = true;
    await loop;
    assert.equal(after, '07');
    assert.deepEqual(failures, []);
  });
});

function servedSerial(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'httpbin.example.com', ca: fs.readFileSync(ca) }, () => {
      resolve(s.getPeerCertificate().serialNumber);
      s.destroy();
    });
    s.once('error', reject);
  });
}

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { createRootCa } from '../../identity/root-ca.js';
import { x509 } from '../../identity/x509-runtime.js';
import { parseResources } from '../load.js';
import { isWeftError } from '../../errors.js';
import { SecretSpecSchema, checkSecretAt } from './secret.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const YEAR = 365 * 24 * 3600_000;

/** A Secret as `kubectl create secret tls -o yaml` writes it. */
const kubectlYaml = (crt: string, key: string, extra = ''): string => `apiVersion: v1
data:
  tls.crt: ${b64(crt)}
  tls.key: ${b64(key)}${extra}
kind: Secret
metadata:
  creationTimestamp: null
  name: httpbin-credential
  namespace: weft-system
type: kubernetes.io/tls
`;

describe('Secret', async () => {
  const now = Date.now();
  const a = await createRootCa({ now });
  const b = await createRootCa({ now });

  test('kubectl create secret tls output loads unchanged: type and data beside metadata', () => {
    const [loaded] = parseResources(kubectlYaml(a.certPem, a.keyPem), 'secret.yaml');
    assert.equal(loaded?.resource.kind, 'Secret');
    assert.deepEqual(Object.keys((loaded?.resource.spec as { data: object }).data).sort(), ['tls.crt', 'tls.key']);
  });

  const refusals: Array<{ name: string; yaml: string; want: RegExp }> = [
    { name: 'a key of another certificate, at the key', yaml: kubectlYaml(a.certPem, b.keyPem), want: /secret\.yaml:4:\d+: data\["tls\.key"\]: private key does not match the certificate/ },
    { name: 'a certificate that is not PEM, at the certificate', yaml: kubectlYaml('not a certificate', a.keyPem), want: /secret\.yaml:3:\d+: data\["tls\.crt"\]: no PEM certificate/ },
    { name: 'a tls Secret without its key', yaml: kubectlYaml(a.certPem, a.keyPem).replace(/ {2}tls\.key: .*\n/, ''), want: /data: a kubernetes\.io\/tls Secret requires data\["tls\.key"\]/ },
    { name: 'a value that is not base64', yaml: kubectlYaml(a.certPem, a.keyPem).replace(/tls\.key: .*/, 'tls.key: "%%%"'), want: /data\["tls\.key"\]: must be base64/ },
    { name: 'a ca.crt that is no certificate', yaml: kubectlYaml(a.certPem, a.keyPem, `\n  ca.crt: ${b64('junk')}`), want: /data\["ca\.crt"\]: no PEM certificate/ },
    { name: 'a spec beside the top-level fields', yaml: `${kubectlYaml(a.certPem, a.keyPem)}spec: {}\n`, want: /spec: unknown field/ },
  ];
  for (const row of refusals) {
    test(`refused at apply with file:line:field: ${row.name}`, () => {
      assert.throws(() => parseResources(row.yaml, 'secret.yaml'), (e) => isWeftError(e, 'CONFIG_INVALID') && row.want.test(e.message));
    });
  }

  test('an expired certificate is refused at apply, at the certificate', async () => {
    const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
    const expired = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '01', name: 'CN=expired.example.com', notBefore: new Date(now - 2 * YEAR), notAfter: new Date(now - YEAR), keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    });
    const pkcs8 = Buffer.from(await crypto.subtle.exportKey('pkcs8', keys.privateKey));
    const keyPem = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }).toString();
    assert.throws(
      () => parseResources(kubectlYaml(expired.toString('pem'), keyPem), 'secret.yaml'),
      (e) => isWeftError(e, 'CONFIG_INVALID') && /secret\.yaml:3:\d+: data\["tls\.crt"\]: certificate expired at /.test(e.message),
    );
  });

  test('an expired certificate is refused (checked at the time given)', () => {
    const spec = SecretSpecSchema.parse({ type: 'kubernetes.io/tls', data: { 'tls.crt': b64(a.certPem), 'tls.key': b64(a.keyPem) } });
    assert.deepEqual(checkSecretAt(spec, now), []);
    const issues = checkSecretAt(spec, now + 11 * YEAR);
    assert.deepEqual(issues.map((i) => i.path), [['data', 'tls.crt']]);
    assert.match(issues[0]!.message, /^certificate expired at /);
  });

  test('stringData is merged into data as the API server does, and wins', () => {
    const spec = SecretSpecSchema.parse({ data: { x: b64('old') }, stringData: { x: 'new', y: 'why' } });
    assert.deepEqual(spec, { type: 'Opaque', data: { x: b64('new'), y: b64('why') } });
  });

  test("Istio's generic layout (cert, key, cacert) is checked like the tls one", () => {
    const spec = SecretSpecSchema.parse({ data: { cert: b64(a.certPem), key: b64(b.keyPem) } });
    assert.deepEqual(checkSecretAt(spec, now).map((i) => i.path), [['data', 'key']]);
  });
});

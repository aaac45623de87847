/**
 * A Gateway server's `tls` block as the gateway will terminate it: certificates from `credentialName(s)` (a Secret
 * in the gateway workload's namespace, as Istio requires; the client CA from its `ca.crt`/`cacert` key, else from the
 * `<name>-cacert` Secret or `caCertCredentialName`) or from files on the gateway's disk, and every verification field
 * Istio's ServerTLSSettings documents.
 */
import type { ServerTlsSettings } from '../../config/kinds/gateway.js';
import { credentialKeys, secretValue } from '../../config/kinds/secret.js';
import type { SecretSpec } from '../../config/kinds/secret.js';
import type { ServerTlsConfig, TlsVersion } from '../../proxyconfig/gateway-types.js';
import type { Named } from './snapshot.js';

type Pem = { secret: string; pem: string } | { file: string };

const VERSIONS: Record<string, TlsVersion | undefined> = {
  TLSV1_0: 'TLSv1',
  TLSV1_1: 'TLSv1.1',
  TLSV1_2: 'TLSv1.2',
  TLSV1_3: 'TLSv1.3',
};

/** Envoy's server defaults, which Istio keeps: TLS 1.2 at least, 1.3 at most. */
const DEFAULT_MIN: TlsVersion = 'TLSv1.2';
const DEFAULT_MAX: TlsVersion = 'TLSv1.3';

export type TerminatedMode = ServerTlsConfig['mode'];

export function isTerminated(mode: ServerTlsSettings['mode']): mode is TerminatedMode {
  return mode === 'SIMPLE' || mode === 'MUTUAL' || mode === 'OPTIONAL_MUTUAL' || mode === 'ISTIO_MUTUAL';
}

class SecretLookup {
  constructor(
    private readonly secrets: readonly Named<SecretSpec>[],
    private readonly namespace: string,
  ) {}

  /**
   * A Secret in the gateway's namespace; or `kubernetes-gateway://ns/name`, Istio's form for a Gateway API
   * certificateRef to another namespace, written only after a ReferenceGrant allowed it (gateway-api/listeners.ts).
   */
  find(name: string): Named<SecretSpec> | undefined {
    const ref = /^kubernetes-gateway:\/\/([^/]+)\/([^/]+)$/.exec(name);
    const [namespace, secret] = ref === null ? [this.namespace, name] : [ref[1], ref[2]];
    return this.secrets.find((s) => s.namespace === namespace && s.name === secret);
  }

  value(secret: Named<SecretSpec>, key: string): Pem | undefined {
    const pem = secretValue(secret.spec, key);
    return pem === undefined ? undefined : { secret: `${secret.namespace}/${secret.name}`, pem };
  }
}

/** The tls of one terminated server. `namespace` is the gateway workload's. */
export function serverTlsConfig(tls: ServerTlsSettings & { mode: TerminatedMode }, secrets: readonly Named<SecretSpec>[], namespace: string): ServerTlsConfig {
  const lookup = new SecretLookup(secrets, namespace);
  const problems: string[] = [];
  const certificates: ServerTlsConfig['certificates'] = [];
  let clientCa: Pem | undefined;
  const names = tls.credentialNames ?? (tls.credentialName === undefined ? [] : [tls.credentialName]);
  if (tls.mode !== 'ISTIO_MUTUAL') {
    for (const name of names) {
      const secret = lookup.find(name);
      if (secret === undefined) {
        problems.push(`Secret ${namespace}/${name} not found`);
        continue;
      }
      const keys = credentialKeys(secret.spec);
      const chain = lookup.value(secret, keys.cert);
      const privateKey = lookup.value(secret, keys.key);
      if (chain === undefined || privateKey === undefined) problems.push(`Secret ${namespace}/${name} has no ${keys.cert} and ${keys.key}`);
      else certificates.push({ chain, privateKey });
      clientCa ??= lookup.value(secret, keys.ca);
    }
    if (names.length === 0) {
      const files = tls.tlsCertificates ?? (tls.serverCertificate !== undefined && tls.privateKey !== undefined ? [tls] : []);
      for (const f of files) {
        if (f.serverCertificate !== undefined && f.privateKey !== undefined) certificates.push({ chain: { file: f.serverCertificate }, privateKey: { file: f.privateKey } });
        if (f.caCertificates !== undefined) clientCa ??= { file: f.caCertificates };
      }
      if (tls.caCertificates !== undefined) clientCa = { file: tls.caCertificates };
    }
  }
  if (tls.mode === 'MUTUAL' || tls.mode === 'OPTIONAL_MUTUAL') {
    const caName = tls.caCertCredentialName ?? (names[0] === undefined ? undefined : `${names[0]}-cacert`);
    const caSecret = clientCa === undefined && caName !== undefined ? lookup.find(caName) : undefined;
    if (caSecret !== undefined) clientCa = lookup.value(caSecret, credentialKeys(caSecret.spec).ca) ?? lookup.value(caSecret, 'ca.crt') ?? lookup.value(caSecret, 'cacert');
    if (clientCa === undefined) problems.push(`mode ${tls.mode} needs a client CA: ca.crt in the Secret, the ${caName ?? '<name>-cacert'} Secret or caCertificates`);
  }
  const out: ServerTlsConfig = {
    mode: tls.mode,
    certificates: tls.mode !== 'ISTIO_MUTUAL' && problems.length > 0 ? [] : certificates,
    subjectAltNames: tls.subjectAltNames ?? [],
    verifyCertificateSpki: tls.verifyCertificateSpki ?? [],
    verifyCertificateHash: (tls.verifyCertificateHash ?? []).map((h) => h.replace(/:/g, '').toLowerCase()),
    minProtocolVersion: VERSIONS[tls.minProtocolVersion ?? ''] ?? DEFAULT_MIN,
    maxProtocolVersion: VERSIONS[tls.maxProtocolVersion ?? ''] ?? DEFAULT_MAX,
    cipherSuites: tls.cipherSuites ?? [],
  };
  if (clientCa !== undefined && tls.mode !== 'SIMPLE' && tls.mode !== 'ISTIO_MUTUAL') out.clientCa = clientCa;
  if (tls.caCrl !== undefined) out.clientCrl = { file: tls.caCrl };
  if (problems.length > 0) out.problem = problems.join('; ');
  return out;
}

/**
 * DestinationRule `credentialName` → the credential one proxy originates TLS with, by Istio's reference for
 * ClientTLSSettings: the Secret lives in the namespace of the proxy using it; it holds `tls.crt`/`tls.key`/`ca.crt`
 * (and `ca.crl`) as `kubectl create secret tls` writes them, or Istio's generic `cert`/`key`/`cacert` (and `crl`);
 * the CA may instead sit in a Secret named `<name>-cacert`. The field applies at gateways, and at a sidecar only
 * when a workloadSelector chose the rule for it; other sidecars keep the file fields.
 */
import { credentialKeys, secretValue } from '../../config/kinds/secret.js';
import type { SecretSpec } from '../../config/kinds/secret.js';
import type { ClientCredential } from '../../proxyconfig/client-credential-types.js';
import type { ClientTlsPolicy } from '../../proxyconfig/types.js';
import type { Named } from './snapshot.js';

type Pem = NonNullable<ClientCredential['ca']>;

/** Who originates: a gateway, or a sidecar (whose rule a workloadSelector may have chosen). */
export interface CredentialUser {
  namespace: string;
  gateway: boolean;
  workloadSelected: boolean;
}

function valueOf(secret: Named<SecretSpec>, key: string): Pem | undefined {
  const pem = secretValue(secret.spec, key);
  return pem === undefined ? undefined : { secret: `${secret.namespace}/${secret.name}`, pem };
}

/** The CA bundle of a Secret in either layout, and its CRL. */
function caOf(secret: Named<SecretSpec>): { ca: Pem | undefined; crl: Pem | undefined } {
  const keys = credentialKeys(secret.spec);
  const ca = valueOf(secret, keys.ca) ?? valueOf(secret, 'ca.crt') ?? valueOf(secret, 'cacert');
  const crl = valueOf(secret, keys.ca === 'ca.crt' ? 'ca.crl' : 'crl') ?? valueOf(secret, 'ca.crl') ?? valueOf(secret, 'crl');
  return { ca, crl };
}

/** The Secret `name` names, resolved in `namespace` (a missing piece is a `problem` every connection reports). */
export function resolveCredential(tls: ClientTlsPolicy, name: string, secrets: readonly Named<SecretSpec>[], namespace: string): ClientCredential {
  const find = (n: string): Named<SecretSpec> | undefined => secrets.find((s) => s.namespace === namespace && s.name === n);
  const out: ClientCredential = { secret: `${namespace}/${name}` };
  const problems: string[] = [];
  const secret = find(name);
  let ca: Pem | undefined;
  let crl: Pem | undefined;
  if (secret === undefined) {
    problems.push(`Secret ${namespace}/${name} not found`);
  } else {
    ({ ca, crl } = caOf(secret));
    if (tls.mode === 'MUTUAL') {
      const keys = credentialKeys(secret.spec);
      const certificate = valueOf(secret, keys.cert);
      const privateKey = valueOf(secret, keys.key);
      if (certificate === undefined || privateKey === undefined) problems.push(`Secret ${namespace}/${name} has no ${keys.cert} and ${keys.key} for MUTUAL`);
      else Object.assign(out, { certificate, privateKey });
    }
  }
  if (ca === undefined) {
    const caSecret = find(`${name}-cacert`);
    if (caSecret !== undefined) ({ ca, crl = crl } = caOf(caSecret));
  }
  // insecureSkipVerify checks no server certificate, so it needs no CA; otherwise Istio's SDS waits for one.
  if (!tls.insecureSkipVerify) {
    if (ca === undefined) problems.push(`no CA to verify the server: neither ca.crt (or cacert) in Secret ${namespace}/${name} nor a Secret ${namespace}/${name}-cacert`);
    else out.ca = ca;
    if (crl !== undefined) out.crl = crl;
  }
  if (problems.length > 0) out.problem = problems.join('; ');
  return out;
}

/** The policy as `user` originates with it: the credential attached where Istio applies `credentialName`. */
export function withClientCredential(tls: ClientTlsPolicy, secrets: readonly Named<SecretSpec>[], user: CredentialUser): ClientTlsPolicy {
  const name = tls.credentialName;
  if (name === null || name === '' || (tls.mode !== 'SIMPLE' && tls.mode !== 'MUTUAL')) return tls;
  if (!user.gateway && !user.workloadSelected) return tls;
  return { ...tls, credential: resolveCredential(tls, name, secrets, user.namespace) };
}

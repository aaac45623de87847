/**
 * Certificates made the way Istio's tasks make them: with the openssl command, a self-signed CA and leaves it
 * signs, in a directory of the test's own. Also the Secret YAML `kubectl create secret tls --dry-run=client -o yaml`
 * writes for a certificate and key.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** `openssl req -x509 ... -subj '/O=<org>/CN=<cn>'`: writes `<name>.crt` and `<name>.key`. */
export function makeCa(dir: string, name: string, subject: string): { crt: string; key: string } {
  openssl(dir, ['req', '-x509', '-sha256', '-nodes', '-days', '365', '-newkey', 'rsa:2048', '-subj', subject, '-keyout', `${name}.key`, '-out', `${name}.crt`]);
  return { crt: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
}

/** A leaf signed by `ca`, as the secure-ingress task makes `httpbin.example.com.crt`. */
export function makeLeaf(dir: string, name: string, subject: string, ca: { crt: string; key: string }, serial = 0): { crt: string; key: string } {
  openssl(dir, ['req', '-out', `${name}.csr`, '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-subj', subject]);
  openssl(dir, ['x509', '-req', '-sha256', '-days', '365', '-CA', ca.crt, '-CAkey', ca.key, '-set_serial', String(serial), '-in', `${name}.csr`, '-out', `${name}.crt`]);
  return { crt: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
}

/** What `kubectl create -n NS secret tls NAME --key KEY --cert CERT --dry-run=client -o yaml` prints (plus ca.crt when given). */
export function tlsSecretYaml(name: string, namespace: string, files: { crt: string; key: string; ca?: string }): string {
  const b64 = (f: string): string => fs.readFileSync(f).toString('base64');
  return [
    'apiVersion: v1',
    'data:',
    ...(files.ca === undefined ? [] : [`  ca.crt: ${b64(files.ca)}`]),
    `  tls.crt: ${b64(files.crt)}`,
    `  tls.key: ${b64(files.key)}`,
    'kind: Secret',
    'metadata:',
    '  creationTimestamp: null',
    `  name: ${name}`,
    `  namespace: ${namespace}`,
    'type: kubernetes.io/tls',
    '',
  ].join('\n');
}

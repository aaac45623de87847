/**
 * Certificates for etcd members that weft runs itself (`weft up --store etcd`, tests): a CA of their own, distinct
 * from the mesh's CA (an etcd client certificate must never be a mesh identity, nor an SVID an etcd credential),
 * one member certificate that serves clients and authenticates peers (serverAuth + clientAuth, the member address
 * as IP SAN), and one client certificate for the control-plane replicas. ECDSA P-256, made with @peculiar/x509
 * like the mesh CA.
 */
import { createPrivateKey } from 'node:crypto';
import type { webcrypto } from 'node:crypto';
import fs from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { x509 } from '../../identity/x509-runtime.js';
import { randomSerial } from '../../identity/root-ca.js';

export interface EtcdPkiFiles {
  caFile: string;
  memberCertFile: string;
  memberKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
}

const VALIDITY_MS = 365 * 24 * 3600_000;
const SKEW_MS = 60_000;
const ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;

export function etcdPkiFiles(dir: string): EtcdPkiFiles {
  return {
    caFile: path.join(dir, 'ca.pem'),
    memberCertFile: path.join(dir, 'member.pem'),
    memberKeyFile: path.join(dir, 'member-key.pem'),
    clientCertFile: path.join(dir, 'client.pem'),
    clientKeyFile: path.join(dir, 'client-key.pem'),
  };
}

/**
 * The files in `dir`, made now unless they exist and the member certificate still has a month to run and names
 * every host. `hosts` are the addresses members listen on (IPs or DNS names).
 */
export async function ensureEtcdPki(dir: string, hosts: readonly string[], now = Date.now()): Promise<EtcdPkiFiles> {
  const files = etcdPkiFiles(dir);
  if (Object.values(files).every((f) => fs.existsSync(f)) && stillGood(files.memberCertFile, hosts, now)) return files;
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caKeys = await crypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const caName = 'O=weft, CN=weft etcd CA';
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial().toString('hex'),
    name: caName,
    notBefore: new Date(now - SKEW_MS),
    notAfter: new Date(now + VALIDITY_MS),
    keys: caKeys,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const issue = async (cn: string, usages: string[], sans: x509.JsonGeneralName[]): Promise<{ cert: string; key: string }> => {
    const keys = await crypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial().toString('hex'),
      subject: `O=weft, CN=${cn}`,
      issuer: caName,
      notBefore: new Date(now - SKEW_MS),
      notAfter: new Date(now + VALIDITY_MS),
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: SIGNING,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension(usages, false),
        await x509.AuthorityKeyIdentifierExtension.create(ca, false),
        ...(sans.length === 0 ? [] : [new x509.SubjectAlternativeNameExtension(sans, false)]),
      ],
    });
    return { cert: cert.toString('pem'), key: await pkcs8Pem(keys.privateKey) };
  };
  const sans: x509.JsonGeneralName[] = hosts.map((h) => (isIP(h) ? { type: 'ip', value: h } : { type: 'dns', value: h }));
  const member = await issue('etcd member', [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth], sans);
  const client = await issue('weft control', [x509.ExtendedKeyUsage.clientAuth], []);
  const write = (file: string, text: string, mode: number): void => fs.writeFileSync(file, text, { mode });
  write(files.caFile, ca.toString('pem'), 0o644);
  write(files.memberCertFile, member.cert, 0o644);
  write(files.memberKeyFile, member.key, 0o600);
  write(files.clientCertFile, client.cert, 0o644);
  write(files.clientKeyFile, client.key, 0o600);
  return files;
}

function stillGood(certFile: string, hosts: readonly string[], now: number): boolean {
  try {
    const cert = new x509.X509Certificate(fs.readFileSync(certFile, 'utf8'));
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
    const named = new Set(san?.names.items.map((n) => n.value) ?? []);
    return cert.notAfter.getTime() - now > 30 * 24 * 3600_000 && hosts.every((h) => named.has(h));
  } catch {
    return false;
  }
}

async function pkcs8Pem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await crypto.subtle.exportKey('pkcs8', key));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }).toString();
}

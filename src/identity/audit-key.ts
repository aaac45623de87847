/**
 * The mesh's audit key: an Ed25519 key kept beside the CA (same directory, key file 0600) that signs only heads
 * of the audit chain. It is not the CA's key on purpose: a key has one purpose (NIST SP 800-57 part 1, 5.2), an
 * operator's intermediate CA key may be allowed to sign certificates only, and replacing the CA must not turn
 * every signed head into one nobody can check. The public half is written beside it for auditors.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { WeftError } from '../errors.js';

export const AUDIT_KEY_FILE = 'audit-key.pem';
export const AUDIT_PUBLIC_KEY_FILE = 'audit-key.pub.pem';

export interface AuditSigner {
  /** First 16 hex digits of the SHA-256 of the public key's SubjectPublicKeyInfo. */
  readonly keyId: string;
  /** base64url Ed25519 signature. */
  sign(payload: Buffer): string;
}

export interface AuditVerifierKey {
  readonly keyId: string;
  verify(payload: Buffer, signature: string): boolean;
}

function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

/** Loads the audit key from `dir`, or makes one on first start (never replacing an existing one). */
export function loadOrCreateAuditKey(dir: string): AuditSigner {
  const keyPath = path.join(dir, AUDIT_KEY_FILE);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!fs.existsSync(keyPath)) {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    // 'wx': a concurrent starter fails here rather than replacing a key that already signed heads.
    fs.writeFileSync(keyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
    fs.writeFileSync(path.join(dir, AUDIT_PUBLIC_KEY_FILE), publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
  }
  let pem: string;
  try {
    pem = fs.readFileSync(keyPath, 'utf8');
  } catch (err) {
    throw new WeftError('AUDIT_INVALID', `cannot read the audit key ${keyPath}: ${(err as Error).message}`, { cause: err });
  }
  return auditSignerFromPem(pem, keyPath);
}

/** A fresh audit key as PKCS#8 PEM (replicas share one, sealed in the store). */
export function newAuditKeyPem(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
}

/** The signer of a PKCS#8 PEM audit key; `origin` names where it came from in errors. */
export function auditSignerFromPem(pem: string, origin: string): AuditSigner & { publicKeyPem: string } {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (err) {
    throw new WeftError('AUDIT_INVALID', `cannot read the audit key ${origin}: ${(err as Error).message}`, { cause: err });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new WeftError('AUDIT_INVALID', `the audit key ${origin} is not an Ed25519 key`);
  }
  const publicKey = createPublicKey(privateKey);
  return {
    keyId: keyIdOf(publicKey),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
    sign: (payload) => sign(null, payload, privateKey).toString('base64url'),
  };
}

export function auditVerifierKey(publicKeyPem: string): AuditVerifierKey {
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey(publicKeyPem);
  } catch (err) {
    throw new WeftError('AUDIT_INVALID', `the audit public key cannot be read: ${(err as Error).message}`, { cause: err });
  }
  return {
    keyId: keyIdOf(publicKey),
    verify: (payload, signature) => {
      try {
        return verify(null, payload, publicKey, Buffer.from(signature, 'base64url'));
      } catch {
        return false;
      }
    },
  };
}

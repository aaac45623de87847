/**
 * Envelope encryption of the secrets replicas share through the store (the CA key, the audit key, the credential
 * HMAC key). The store holds only AES-256-GCM ciphertext; the key-encryption key is a 32-byte file each replica
 * is given out of band (a Kubernetes Secret mounted read-only, a file copied by the operator), never written to
 * the store. The secret's name is authenticated data, so an envelope moved to another name does not open, and the
 * envelope names the key it was sealed under (a hash prefix), so a replica given the wrong key says so plainly.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { WeftError } from '../../errors.js';

export const SEALING_KEY_BYTES = 32;

export interface Envelope {
  v: 1;
  alg: 'A256GCM';
  /** First 16 hex digits of SHA-256 of the key-encryption key. */
  kid: string;
  iv: string;
  tag: string;
  ciphertext: string;
}

export interface SealingKey {
  readonly kid: string;
  seal(name: string, plaintext: Buffer): Envelope;
  open(name: string, envelope: Envelope): Buffer;
}

function aad(name: string): Buffer {
  return Buffer.from(`weft-sealed/v1/${name}`, 'utf8');
}

export function sealingKey(key: Buffer): SealingKey {
  if (key.length !== SEALING_KEY_BYTES) throw new WeftError('BAD_REQUEST', `a sealing key is ${SEALING_KEY_BYTES} bytes, not ${key.length}`);
  const kid = createHash('sha256').update(key).digest('hex').slice(0, 16);
  return {
    kid,
    seal(name, plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(aad(name));
      const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      return { v: 1, alg: 'A256GCM', kid, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), ciphertext: ciphertext.toString('base64') };
    },
    open(name, envelope) {
      if (envelope.v !== 1 || envelope.alg !== 'A256GCM') throw new WeftError('STORE', `the sealed ${name} is in an unknown format`);
      if (envelope.kid !== kid) {
        throw new WeftError('STORE', `the sealed ${name} was sealed under key ${envelope.kid}, but this replica was given key ${kid}`);
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(envelope.iv, 'base64')).setAAD(aad(name));
        decipher.setAuthTag(Buffer.from(envelope.tag, 'base64'));
        return Buffer.concat([decipher.update(Buffer.from(envelope.ciphertext, 'base64')), decipher.final()]);
      } catch (cause) {
        throw new WeftError('STORE', `the sealed ${name} does not open: it was altered or sealed for another name`, { cause });
      }
    },
  };
}

/** Reads the sealing key file (32 random bytes: `weft up --store etcd` makes one, an operator `head -c 32 /dev/urandom`). */
export function readSealingKey(file: string): SealingKey {
  let key: Buffer;
  try {
    key = fs.readFileSync(file);
  } catch (cause) {
    throw new WeftError('BAD_REQUEST', `cannot read the sealing key ${file}: ${(cause as Error).message}`, { cause });
  }
  return sealingKey(key);
}

/** Writes a new random sealing key, refusing to replace one (which would lock every replica out of the secrets). */
export function createSealingKeyFile(file: string): void {
  fs.writeFileSync(file, randomBytes(SEALING_KEY_BYTES), { mode: 0o600, flag: 'wx' });
}

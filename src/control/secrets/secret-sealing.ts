/**
 * A Secret's key material is stored sealed: AES-256-GCM under the mesh's secret key (`<state-dir>/ca/secret.key`,
 * mode 0600), so the store file, its history, audit bodies and every backup hold ciphertext only, whatever the
 * backend. Sealing happens on the way into the store and unsealing only where the control plane compiles gateway
 * configs, so nothing that reads the store (`weft get`, history, diff, audit export) can show key material.
 *
 * A keyed digest of the data lets an apply of the same Secret be `unchanged` (the ciphertext of the prior version
 * is kept, as a fresh nonce would make every apply look like a change) and lets `weft get` show which version is
 * stored without showing what it is.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Resource } from '../../config/resource.js';
import type { SecretSpec } from '../../config/kinds/secret.js';
import { WeftError } from '../../errors.js';

export const SECRET_KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** The stored form of a Secret's spec: no plaintext field. */
export interface SealedSecretSpec {
  type: string;
  immutable?: boolean;
  sealed: {
    /** The data's keys, sorted: shown by `weft get`, never their values. */
    keys: string[];
    /** HMAC-SHA256 (base64url) of the data under a key derived from the secret key. */
    digest: string;
    /** base64(nonce ‖ tag ‖ ciphertext) of the data as JSON. */
    box: string;
  };
}

export function isSealed(spec: unknown): spec is SealedSecretSpec {
  return typeof spec === 'object' && spec !== null && 'sealed' in spec;
}

export class SecretSealer {
  readonly #encryptionKey: Buffer;
  readonly #digestKey: Buffer;

  constructor(key: Buffer) {
    if (key.length !== SECRET_KEY_BYTES) throw new TypeError(`the secret key must be ${SECRET_KEY_BYTES} bytes`);
    // Two keys from one: the digest is published (weft get), so it must not be made with the encryption key.
    this.#encryptionKey = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'weft secret encryption', SECRET_KEY_BYTES));
    this.#digestKey = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'weft secret digest', SECRET_KEY_BYTES));
  }

  /** A validated Secret made ready for the store; `prior` is the stored version, whose ciphertext is kept if the data is the same. */
  seal(resource: Resource, prior?: Resource): Resource {
    const spec = resource.spec as SecretSpec;
    const data = canonicalData(spec.data);
    const digest = createHmac('sha256', this.#digestKey).update(data).digest('base64url');
    const before = prior !== undefined && isSealed(prior.spec) ? prior.spec : undefined;
    if (before?.immutable === true && before.sealed.digest !== digest) {
      throw new WeftError('CONFIG_INVALID', `Secret ${resource.metadata.namespace}/${resource.metadata.name} is immutable: its data cannot change (delete it and create it again)`, { status: 422 });
    }
    const box = before?.sealed.digest === digest ? before.sealed.box : this.#encrypt(data);
    const sealed: SealedSecretSpec = { type: spec.type, ...(spec.immutable === undefined ? {} : { immutable: spec.immutable }), sealed: { keys: Object.keys(spec.data).sort(), digest, box } };
    return { ...resource, spec: sealed };
  }

  /** The Secret as it was applied (data base64 by key). Throws for a box this key did not seal. */
  unseal(resource: Resource): Resource<SecretSpec> {
    if (!isSealed(resource.spec)) return resource as Resource<SecretSpec>;
    const { type, immutable, sealed } = resource.spec;
    const raw = Buffer.from(sealed.box, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.#encryptionKey, raw.subarray(0, NONCE_BYTES));
    decipher.setAuthTag(raw.subarray(NONCE_BYTES, NONCE_BYTES + TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(raw.subarray(NONCE_BYTES + TAG_BYTES)), decipher.final()]);
    } catch {
      throw new WeftError('STORE', `Secret ${resource.metadata.namespace}/${resource.metadata.name} cannot be unsealed with this mesh's secret key`);
    }
    const data = JSON.parse(plain.toString('utf8')) as Record<string, string>;
    return { ...resource, spec: { type, data, ...(immutable === undefined ? {} : { immutable }) } };
  }

  #encrypt(plain: string): string {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#encryptionKey, nonce);
    const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return Buffer.concat([nonce, cipher.getAuthTag(), ct]).toString('base64');
  }
}

/** The data as JSON with sorted keys, so equal data has one digest. */
function canonicalData(data: Record<string, string>): string {
  return JSON.stringify(Object.fromEntries(Object.keys(data).sort().map((k) => [k, data[k]])));
}

/** Every Secret of a list unsealed; other resources as they are. */
export function unsealAll<R extends Resource>(resources: readonly R[], sealer: SecretSealer): R[] {
  return resources.map((r) => (r.kind === 'Secret' ? (sealer.unseal(r) as unknown as R) : r));
}

/** The mesh's secret key, made on first start (mode 0600); a key of another size is refused rather than replaced, since it would orphan every stored Secret. */
export function loadOrCreateSecretKey(file: string): Buffer {
  if (fs.existsSync(file)) {
    const key = fs.readFileSync(file);
    if (key.length !== SECRET_KEY_BYTES) throw new WeftError('CA_INVALID', `${file}: the secret key must be ${SECRET_KEY_BYTES} bytes (it seals every stored Secret; restore it from a backup)`);
    return key;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const key = randomBytes(SECRET_KEY_BYTES);
  fs.writeFileSync(file, key, { mode: 0o600, flag: 'wx' });
  return key;
}

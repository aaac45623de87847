/**
 * Bootstrap tokens and API credentials on etcd. A token is spent with a compare-and-swap on its key's version, so
 * of two replicas redeeming one token at the same moment exactly one wins (the single-use rule of
 * bootstrap-token.ts); a credential record and the id index that finds it change in one transaction.
 */
import type { DeleteBuilder, Namespace, PutBuilder } from 'etcd3';
import type { TokenRecord, TokenStore } from '../../identity/bootstrap-token.js';
import type { CredentialRecord, CredentialRecords, StoredBinding } from './credential-records.js';
import { KEYS } from './etcd-keys.js';

/** Bounds compare-and-swap retries on one key; losing this often means the key is being rewritten in a loop. */
const MAX_ATTEMPTS = 32;

interface StoredToken {
  record: TokenRecord;
  usedAt: number | null;
}

export class EtcdTokenStore implements TokenStore {
  readonly #ns: Namespace;

  constructor(ns: Namespace) {
    this.#ns = ns;
  }

  async put(id: string, record: TokenRecord): Promise<void> {
    await this.#ns.put(KEYS.tokens + id).value(JSON.stringify({ record, usedAt: null } satisfies StoredToken)).exec();
  }

  async get(id: string): Promise<TokenRecord | undefined> {
    return (await this.#read(id))?.token.record;
  }

  async markUsed(id: string, at: number): Promise<boolean> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const found = await this.#read(id);
      if (found === undefined || found.token.usedAt !== null) return false;
      const res = await this.#ns
        .if(KEYS.tokens + id, 'Mod', '==', found.mod)
        .then(this.#ns.put(KEYS.tokens + id).value(JSON.stringify({ ...found.token, usedAt: at })))
        .commit();
      if (res.succeeded) return true;
    }
    return false;
  }

  async usedAt(id: string): Promise<number | undefined> {
    return (await this.#read(id))?.token.usedAt ?? undefined;
  }

  async #read(id: string): Promise<{ token: StoredToken; mod: string } | undefined> {
    const kv = (await this.#ns.get(KEYS.tokens + id).exec()).kvs[0];
    return kv === undefined ? undefined : { token: JSON.parse(kv.value.toString('utf8')) as StoredToken, mod: kv.mod_revision };
  }
}

interface StoredCredential {
  id: string;
  name: string;
  bindings: StoredBinding[];
  /** base64 */
  secretHmac: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

function toStored(r: CredentialRecord): StoredCredential {
  return { ...r, secretHmac: r.secretHmac.toString('base64'), expiresAt: r.expiresAt ?? null, revokedAt: r.revokedAt ?? null };
}

function fromStored(s: StoredCredential): CredentialRecord {
  return {
    id: s.id,
    name: s.name,
    bindings: s.bindings,
    secretHmac: Buffer.from(s.secretHmac, 'base64'),
    createdAt: s.createdAt,
    expiresAt: s.expiresAt ?? undefined,
    revokedAt: s.revokedAt ?? undefined,
  };
}

export class EtcdCredentialRecords implements CredentialRecords {
  readonly #ns: Namespace;

  constructor(ns: Namespace) {
    this.#ns = ns;
  }

  async put(record: CredentialRecord): Promise<void> {
    const key = KEYS.credentials + record.name;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const found = await this.#read(record.name);
      const ops: (PutBuilder | DeleteBuilder)[] = [this.#ns.put(key).value(JSON.stringify(toStored(record))), this.#ns.put(KEYS.credentialIds + record.id).value(record.name)];
      // Reissuing under a name rotates the credential: the old id must stop finding it.
      if (found !== undefined && found.record.id !== record.id) ops.push(this.#ns.delete().key(KEYS.credentialIds + found.record.id));
      const res = await this.#ns.if(key, 'Mod', '==', found?.mod ?? 0).then(...ops).commit();
      if (res.succeeded) return;
    }
    throw new Error(`credential ${record.name} kept changing while it was written`);
  }

  async findById(id: string): Promise<CredentialRecord | undefined> {
    const name = await this.#ns.get(KEYS.credentialIds + id).string();
    if (name === null) return undefined;
    const found = await this.#read(name);
    return found?.record.id === id ? found.record : undefined;
  }

  async list(): Promise<CredentialRecord[]> {
    const all = await this.#ns.getAll().prefix(KEYS.credentials).strings();
    return Object.values(all)
      .map((text) => fromStored(JSON.parse(text) as StoredCredential))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async revoke(name: string, at: string): Promise<boolean> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const found = await this.#read(name);
      if (found === undefined || found.record.revokedAt !== undefined) return false;
      const res = await this.#ns
        .if(KEYS.credentials + name, 'Mod', '==', found.mod)
        .then(this.#ns.put(KEYS.credentials + name).value(JSON.stringify(toStored({ ...found.record, revokedAt: at }))))
        .commit();
      if (res.succeeded) return true;
    }
    return false;
  }

  async #read(name: string): Promise<{ record: CredentialRecord; mod: string } | undefined> {
    const kv = (await this.#ns.get(KEYS.credentials + name).exec()).kvs[0];
    return kv === undefined ? undefined : { record: fromStored(JSON.parse(kv.value.toString('utf8')) as StoredCredential), mod: kv.mod_revision };
  }
}

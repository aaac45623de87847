/**
 * API credentials: bearer secrets for the CLI and the dashboard, each naming an operator and the roles bound to it.
 * A secret reads `weft_<id>_<random>`: the public id finds the record, then keyed hashes are compared in constant
 * time. The secret is shown once and never kept.
 *
 * The hash is HMAC-SHA-256 under a 256-bit key that lives in a file beside the store, not in it. Slow password
 * hashes (scrypt, argon2) exist to make guessing low-entropy passwords expensive; these secrets carry 256 random bits,
 * so guessing is hopeless anyway, while a slow hash would cost tens of milliseconds of CPU on every API call. The
 * key is what a copy of the database lacks: without it a stolen row cannot even test a candidate secret.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { WeftError } from '../../errors.js';
import type { CredentialRecord, CredentialRecords, StoredBinding } from '../store/credential-records.js';
import type { Clock } from '../store/types.js';
import { ALL_NAMESPACES, isRoleName } from './rbac.js';
import type { Principal, RoleBinding, RoleName } from './rbac.js';

/** A verified caller: its roles and the id of the credential it presented, which audit records name beside it. */
export interface ApiPrincipal extends Principal {
  credentialId?: string;
}

export interface CredentialVerifier {
  /** The principal a presented secret belongs to; UNAUTHENTICATED (401) if it belongs to none, expired or was revoked. */
  verify(secret: string): Promise<ApiPrincipal>;
}

export interface CredentialHolder {
  readonly credentials: CredentialRecords;
}

export interface NewCredential {
  name: string;
  role: RoleName;
  /** Namespaces the role is bound in; empty binds it in every namespace. */
  namespaces: readonly string[];
  /** Lifetime in ms; undefined for a credential that does not expire. */
  ttlMs?: number;
}

/** What `weft auth list` shows of a credential: everything but the hash. */
export interface CredentialSummary {
  name: string;
  bindings: RoleBinding[];
  createdAt: string;
  expiresAt: string | undefined;
  revokedAt: string | undefined;
}

const SECRET_FORMAT = /^weft_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const NAME_FORMAT = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;
// Kubernetes' namespace rule (RFC 1123 label).
const NAMESPACE_FORMAT = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const CREDENTIAL_KEY_BYTES = 32;

function badRequest(message: string): WeftError {
  return new WeftError('BAD_REQUEST', message, { status: 400 });
}

function unauthenticated(message: string): WeftError {
  return new WeftError('UNAUTHENTICATED', message, { status: 401 });
}

/** Issues, verifies, lists and revokes credentials; `key` is the HMAC key, `clock` decides expiry. */
export class ApiCredentials implements CredentialVerifier {
  readonly #records: CredentialRecords;
  readonly #key: Buffer;
  readonly #clock: Clock;
  // Compared against when the id is unknown, so a miss costs the same as a wrong secret.
  readonly #decoy: Buffer;

  constructor(store: CredentialHolder, key: Buffer, clock: Clock = Date.now) {
    if (key.length !== CREDENTIAL_KEY_BYTES) throw new TypeError(`the credential key must be ${CREDENTIAL_KEY_BYTES} bytes`);
    this.#records = store.credentials;
    this.#key = key;
    this.#clock = clock;
    this.#decoy = this.#hmac('weft-decoy');
  }

  /**
   * Issues a credential and returns its secret (shown once, never stored). Issuing again under the same name
   * rotates it: the old secret stops working. Bad input from an operator is BAD_REQUEST.
   */
  async create(options: NewCredential): Promise<{ secret: string; credential: CredentialSummary }> {
    if (!NAME_FORMAT.test(options.name)) throw badRequest(`credential name ${JSON.stringify(options.name)} must match ${String(NAME_FORMAT)}`);
    for (const ns of options.namespaces) {
      if (!NAMESPACE_FORMAT.test(ns)) throw badRequest(`namespace ${JSON.stringify(ns)} is not a valid namespace name`);
    }
    if (options.role === 'mesh-admin' && options.namespaces.length > 0) {
      throw badRequest('mesh-admin is bound in every namespace; it takes no --namespace');
    }
    if (options.ttlMs !== undefined && !(Number.isFinite(options.ttlMs) && options.ttlMs > 0)) {
      throw badRequest('a credential must expire after a positive duration');
    }
    const namespaces = options.namespaces.length === 0 ? [ALL_NAMESPACES] : [...new Set(options.namespaces)];
    const id = randomBytes(8).toString('hex');
    const secret = `weft_${id}_${randomBytes(32).toString('base64url')}`;
    const now = this.#clock();
    const record: CredentialRecord = {
      id,
      name: options.name,
      bindings: namespaces.map((namespace) => ({ role: options.role, namespace })),
      secretHmac: this.#hmac(secret),
      createdAt: new Date(now).toISOString(),
      expiresAt: options.ttlMs === undefined ? undefined : new Date(now + options.ttlMs).toISOString(),
      revokedAt: undefined,
    };
    await this.#records.put(record);
    return { secret, credential: summary(record) };
  }

  async verify(secret: string): Promise<ApiPrincipal> {
    const match = SECRET_FORMAT.exec(secret);
    const record = match?.[1] === undefined ? undefined : await this.#records.findById(match[1]);
    const equal = timingSafeEqual(this.#hmac(secret), record?.secretHmac ?? this.#decoy);
    if (record === undefined || !equal) throw unauthenticated('the credential is not valid');
    // Said plainly only after the whole secret matched: the holder learns nothing they could not act on.
    if (record.revokedAt !== undefined) throw unauthenticated(`the credential ${record.name} was revoked at ${record.revokedAt}`);
    if (record.expiresAt !== undefined && Date.parse(record.expiresAt) <= this.#clock()) {
      throw unauthenticated(`the credential ${record.name} expired at ${record.expiresAt}`);
    }
    return { name: record.name, bindings: knownBindings(record.bindings), credentialId: record.id };
  }

  async list(): Promise<CredentialSummary[]> {
    return (await this.#records.list()).map(summary);
  }

  /** NOT_FOUND if no unrevoked credential has that name. */
  async revoke(name: string): Promise<CredentialSummary> {
    if (!(await this.#records.revoke(name, new Date(this.#clock()).toISOString()))) {
      throw new WeftError('NOT_FOUND', `no credential named ${JSON.stringify(name)} that is not revoked already`, { status: 404 });
    }
    return (await this.list()).find((c) => c.name === name) as CredentialSummary;
  }

  #hmac(text: string): Buffer {
    return createHmac('sha256', this.#key).update(text, 'utf8').digest();
  }
}

/** A stored binding naming a role this weft does not know (written by a newer one) grants nothing. */
function knownBindings(stored: readonly StoredBinding[]): RoleBinding[] {
  return stored.flatMap((b) => (isRoleName(b.role) ? [{ role: b.role, namespace: b.namespace }] : []));
}

function summary(r: CredentialRecord): CredentialSummary {
  return { name: r.name, bindings: knownBindings(r.bindings), createdAt: r.createdAt, expiresAt: r.expiresAt, revokedAt: r.revokedAt };
}

/** A fresh random HMAC key for a new state directory. */
export function newCredentialKey(): Buffer {
  return randomBytes(CREDENTIAL_KEY_BYTES);
}
